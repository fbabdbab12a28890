"""The digital-inclusion programme: workshops, sessions, registrations and their waitlist,
attendance, the advisor's appointments and activity reports.

Services are plain functions over the caller's database session (they never commit), like the
booking engine they book rooms through. Import from the submodules:

- :mod:`.seats` — pure seat and waitlist arithmetic;
- :mod:`.events` — ``ProgrammeEvent`` and the listeners seam (the outbox plugs in there);
- :mod:`.workshops`, :mod:`.sessions`, :mod:`.registrations`, :mod:`.attendance`,
  :mod:`.appointments`, :mod:`.activity` — the services;
- :mod:`.retention` — attendance lists reduced to counts after the retention period.
"""
