"""Languages of the web pages: gettext catalogues (Babel), the choice of language, and the
dates, times and durations shown in the site's timezone.

Catalogues are ``locale/<lang>/LC_MESSAGES/messages.po``; they are compiled in memory when
the app starts, so a fresh clone works without a compile step. Message ids are English; the
French catalogue must translate every one of them (a test extracts the ids and checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

from tierslieu.api.i18n import SUPPORTED, pick_language
from tierslieu.booking import wording

__all__ = ["LANG_COOKIE", "LOCALE_DIR", "N_", "SUPPORTED", "Catalogues", "Formatter", "choose_language"]

LOCALE_DIR = Path(__file__).parent / "locale"
LANG_COOKIE = "tierslieu_lang"
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


class Catalogues:
    """One compiled :class:`Translations` per supported language, built once per app."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        self._by_lang = {lang: _compile(locale_dir / lang / "LC_MESSAGES" / "messages.po", lang) for lang in SUPPORTED}

    def __getitem__(self, lang: str) -> Translations:
        return self._by_lang.get(lang, self._by_lang["fr"])


def _compile(po_path: Path, lang: str) -> Translations:
    if not po_path.is_file():
        return Translations()
    with po_path.open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def choose_language(request: Request, member_language: str | None, default: str) -> str:
    """The language switch wins, then the member's setting, then the browser's preference."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in SUPPORTED:
        return chosen
    if member_language in SUPPORTED:
        return member_language
    return pick_language(request.headers.get("accept-language"), default=default)


@dataclass(frozen=True)
class Formatter:
    """Dates and times for people: in the site's timezone and the page's language."""

    lang: str
    tz: ZoneInfo

    @property
    def locale(self) -> str:
        return BABEL_LOCALES.get(self.lang, "fr_FR")

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def day(self, value: date | datetime) -> str:
        """``mardi 14 juillet 2026``."""
        if isinstance(value, datetime):
            value = self._local(value).date()
        return format_date(value, "full", locale=self.locale)

    def short_day(self, value: date | datetime) -> str:
        """``mar. 14 juil.``."""
        if isinstance(value, datetime):
            value = self._local(value).date()
        return format_date(value, "EEE d MMM", locale=self.locale)

    def time(self, moment: datetime) -> str:
        return format_datetime(moment, "HH:mm", tzinfo=self.tz, locale=self.locale)

    def when(self, moment: datetime) -> str:
        """``mardi 14 juillet 2026 à 10:00``, for lists and messages."""
        return f"{self.day(moment)} {'à' if self.lang == 'fr' else 'at'} {self.time(moment)}"

    def span(self, start: datetime, end: datetime) -> str:
        """``mardi 14 juillet 2026, 10:00–12:00`` (or both days when it spans midnight)."""
        if self._local(start).date() == self._local(end).date():
            return f"{self.day(start)}, {self.time(start)}–{self.time(end)}"
        return f"{self.when(start)} – {self.when(end)}"

    def duration(self, minutes: float) -> str:
        return wording.duration_en(minutes) if self.lang == "en" else wording.duration_fr(minutes)

    def iso_day(self, moment: datetime) -> str:
        return self._local(moment).date().isoformat()


def N_(message: str) -> str:
    """Mark a message for the catalogue where it is defined; it is translated where shown."""
    return message
