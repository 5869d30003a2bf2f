"""Full screens (画面): each one is pushed by the app (``app.open_…``), never by another screen."""
