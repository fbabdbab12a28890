"""Booking rules, opening hours, recurrence and availability: pure functions over plain values.

The service/DB layer imports from the submodules: :mod:`.rules` (settings model, verdicts),
:mod:`.schedule` (opening hours, closures, holidays), :mod:`.recurrence` (RRULE expansion)
and :mod:`.availability` (free intervals, day grid).
"""
