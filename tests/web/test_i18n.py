"""The web pages in the one catalogue (``tierslieu/locale``): every message id of the web app
has its French, and dates are shown in the site's timezone in the page's language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tierslieu.i18n import Catalogues
from tierslieu.i18n.catalogue import read_catalog
from tierslieu.web.catalog import extract
from tierslieu.web.i18n import Formatter


def _translated(value: object) -> bool:
    return bool(value) if isinstance(value, str) else isinstance(value, tuple | list) and all(value)


def _french() -> dict[object, object]:
    catalog = read_catalog("fr")
    return {m.id if isinstance(m.id, str) else tuple(m.id): m.string for m in catalog if m.id}


def test_every_message_has_a_french_translation() -> None:
    french = _french()
    ids = {m.id if isinstance(m.id, str) else tuple(m.id) for m in extract() if m.id}
    assert ids, "no message extracted"
    missing = sorted(str(i) for i in ids if i not in french)
    empty = sorted(str(i) for i in ids if i in french and not _translated(french[i]))
    assert missing == [], f"run `python -m tierslieu.web.catalog` and translate: {missing}"
    assert empty == [], f"untranslated: {empty}"


def test_catalogues_compile_from_po_without_a_build_step() -> None:
    catalogues = Catalogues()
    assert catalogues["fr"].ugettext("Book") == "Réserver"
    assert catalogues["en"].ugettext("Book") == "Book"
    assert catalogues["fr"].ungettext("%(num)d free slot", "%(num)d free slots", 4) == "%(num)d créneaux libres"
    assert catalogues["xx"].ugettext("Book") == "Réserver"  # unknown language: French


def test_formatter_uses_site_timezone_and_language() -> None:
    paris = ZoneInfo("Europe/Paris")
    moment = datetime(2026, 7, 14, 8, 0, tzinfo=UTC)  # 10:00 in Paris (summer time)
    french, english = Formatter("fr", paris), Formatter("en", paris)
    assert french.time(moment) == "10:00"
    assert french.day(moment) == "mardi 14 juillet 2026"
    assert english.day(date(2026, 7, 14)) == "Tuesday, 14 July 2026"
    assert french.span(moment, datetime(2026, 7, 14, 10, 0, tzinfo=UTC)) == "mardi 14 juillet 2026, 10:00–12:00"
    assert french.duration(90) == "1 h 30"
    winter = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert french.time(winter) == "09:00"
