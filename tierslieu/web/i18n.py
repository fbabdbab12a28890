"""Languages of the web pages: the choice of language, and the dates, times and durations
shown in the site's timezone.

The catalogues are tierslieu's one catalogue (:mod:`tierslieu.i18n`, ``tierslieu/locale``);
the pages' message ids are English sentences, which the French catalogue must translate (a
test extracts the ids and checks).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from starlette.requests import Request

from tierslieu.i18n import LOCALE_DIR, SUPPORTED, Catalogues, babel_locale, format_duration, pick_language, render

__all__ = ["LANG_COOKIE", "LOCALE_DIR", "N_", "SUPPORTED", "Catalogues", "Formatter", "choose_language"]

LANG_COOKIE = "tierslieu_lang"


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
    def locale(self) -> Locale:
        return babel_locale(self.lang)

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
        return render("format.day_at_time", {"day": self.day(moment), "time": self.time(moment)}, self.lang)

    def span(self, start: datetime, end: datetime) -> str:
        """``mardi 14 juillet 2026, 10:00–12:00`` (or both days when it spans midnight)."""
        if self._local(start).date() == self._local(end).date():
            return f"{self.day(start)}, {self.time(start)}–{self.time(end)}"
        return f"{self.when(start)} – {self.when(end)}"

    def duration(self, minutes: float) -> str:
        return format_duration(minutes, self.lang)

    def iso_day(self, moment: datetime) -> str:
        return self._local(moment).date().isoformat()


def N_(message: str) -> str:
    """Mark a message for the catalogue where it is defined; it is translated where shown."""
    return message
