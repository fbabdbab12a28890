"""Request and response shapes (``XCreate`` / ``XUpdate`` / ``XPublic``); secrets never appear here."""
