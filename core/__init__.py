"""dutypost's domain: config, templates, length, gate, ledger, X client, checklists.

Nothing in this package imports textual; the TUI lives in ``tui``.
"""
