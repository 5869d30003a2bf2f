"""dutypost: a keyboard-driven terminal app with which a municipality's duty officer
publishes disaster information to X, within the municipality's social-media policy.

The repository's top-level folders install as this one package: ``core/`` as
``dutypost.core`` (the domain, which never imports textual) and ``tui/`` as
``dutypost.tui`` (the screen); ``templates/`` and ``config.example.toml`` travel with
it as package data (see pyproject.toml's ``package-dir``).
"""
