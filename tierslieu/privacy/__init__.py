"""Personal data (RGPD): access-log retention, a person's export, erasure, and the
maintenance scheduler that purges old lines and abandoned upload previews.

- :mod:`.retention` — ``purge_access_log`` (daily counts kept) and ``access_totals``;
- :mod:`.subject` — ``export_member`` and ``erase_member``;
- :mod:`.maintenance` — the periodic worker running the purge and the preview cleaning.
"""
