"""The screen (画面): a Textual app over the domain in ``core/``.

``tui.terminal`` prepares the environment before textual is imported; ``tui.app`` builds
and runs the app (:func:`tui.app.make_app`, :func:`tui.app.run`) and owns navigation.
``tui.screens``, ``tui.modals`` and ``tui.widgets`` hold the screens, the dialogs and the
widgets; ``tui.words`` the shared words and formatting. Screens and dialogs never import
one another: they call ``app.open_…``.
"""
