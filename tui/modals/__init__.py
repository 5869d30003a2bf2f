"""Dialogs (ModalScreen, 小さな画面): opened by the app (``app.open_…``), never by a screen directly."""
