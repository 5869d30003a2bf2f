"""Widgets shared by screens and dialogs; they import no screen and no dialog."""
