"""Booking rules, opening hours, recurrence and availability: pure functions over plain values.

No database, HTTP or clock here: callers pass ``now``, the site timezone and the bookings
they loaded. Import from the submodules:

- :mod:`.rules` — the rules model (defined in :mod:`.ruleset`, re-exported), ``merge_rules``,
  ``patch_rules``, ``overlaps``/``buffered_interval`` and ``evaluate_booking`` verdicts;
- :mod:`.schedule` — opening hours, closures and French public holidays;
- :mod:`.recurrence` — ``expand_rrule`` for recurring bookings;
- :mod:`.availability` — ``free_intervals`` and the ``slot_grid`` of a day.

Datetimes returned by these modules are UTC; messages show the site's local time.
"""
