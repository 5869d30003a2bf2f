"""The screen (画面): a Textual app over the domain in ``core/``.

``tui.terminal`` prepares the environment before textual is imported; ``tui.app`` builds
and runs the app (:func:`tui.app.make_app`, :func:`tui.app.run`).
"""
