"""Rendering a message: a code and its parameters, in French or English, in the site's timezone.

``render("quota_exceeded", {"used": 120, "monday": day}, "fr", tz)`` looks the code up in the
catalogue and fills the placeholders with :class:`MessageFormatter`, whose format specs turn
values into words with Babel:

==============  ====================================  =====================================
spec            French                                English
==============  ====================================  =====================================
``time``        ``10:00``                             ``10:00``
``date``        ``14 juillet 2026``, ``1er mai 2026``  ``July 14, 2026``
``daymonth``    ``14 juillet``                        ``July 14``
``day``         ``mardi 14 juillet``                  ``Tuesday July 14``
``fullday``     ``mardi 14 juillet 2026``             ``Tuesday July 14, 2026``
``weekday``     ``mardi``                             ``Tuesday``
``datetime``    ``mardi 14 juillet 2026 à 10:00``     ``Tuesday July 14, 2026 at 10:00``
``duration``    ``45 min``, ``2 h``, ``1 h 30``        ``45 min``, ``2 h``, ``1 h 30 min``
``roles``       ``animateurs, adhérents``             ``workshop leaders, members``
``list``        items joined by ``, ``                items joined by ``, ``
``and``         ``de 9:00 à 12:00 et de 14:00…``      ``9:00–12:00 and 14:00…``
==============  ====================================  =====================================

Datetimes are shown in ``tz`` (naive ones are taken as UTC); ISO strings (parameters read back
from JSON) are accepted wherever a date or time is. A parameter that is itself a
:class:`Message` is rendered in the same language, so a message can embed another; a
:class:`Localized` value (a name that exists in several languages, such as a public holiday's)
is shown in the message's language.
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from tierslieu.i18n.catalogue import Catalogues, catalogues
from tierslieu.i18n.languages import babel_locale, supported

__all__ = ["Localized", "Message", "MessageFormatter", "format_duration", "render"]

log = logging.getLogger(__name__)

_CLOCK = re.compile(r"^\d{2}:\d{2}$")
_ANY_DAY = date(2000, 1, 3)

# The specs drawn by Babel from a CLDR pattern; the catalogue holds each language's pattern as
# ``format.<spec>`` (``{d}`` there is the day of the month: French writes ``1er``).
_MOMENT_SPECS = frozenset({"date", "daymonth", "day", "fullday", "weekday", "datetime", "time"})


@dataclass(frozen=True)
class Message:
    """A message not yet put into words: its catalogue code and parameters."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, language: str, tz: ZoneInfo | None = None) -> str:
        return render(self.code, self.params, language, tz)


@dataclass(frozen=True)
class Localized:
    """A name given by data in several languages (``{"fr": "Fête nationale", "en": "National Day"}``)."""

    names: Mapping[str, str]

    def in_language(self, language: str) -> str:
        return self.names.get(language) or self.names.get("fr") or next(iter(self.names.values()), "")


def render(
    code: str,
    params: Mapping[str, Any] | None,
    language: str,
    tz: ZoneInfo | None = None,
    *,
    catalogue: Catalogues | None = None,
) -> str:
    """The sentence for ``code`` in ``language`` (French if unsupported), parameters filled in.

    A code missing from the catalogue renders as itself (and is logged): a reader sees something,
    and the catalogue test names it."""
    language = supported(language)
    translations = (catalogue or catalogues())[language]
    template = translations.ugettext(code)
    if template == code and not (catalogue or catalogues()).has(language, code):
        log.warning("message code %r has no %s translation", code, language)
    formatter = MessageFormatter(language, tz, catalogue)
    try:
        return formatter.vformat(template, (), dict(params or {}))
    except (KeyError, IndexError, ValueError, TypeError):
        log.exception("cannot fill message %r (%s) with %r", code, language, params)
        return template


class MessageFormatter(string.Formatter):
    """``str.format`` whose specs ``time``, ``date``, ``duration``… are rendered by Babel."""

    def __init__(self, language: str, tz: ZoneInfo | None = None, catalogue: Catalogues | None = None) -> None:
        super().__init__()
        self.language = supported(language)
        self.tz = tz
        self.catalogue = catalogue
        self._specs: dict[str, Callable[[Any], str]] = {
            "duration": lambda v: format_duration(float(v), self.language, catalogue),
            "roles": self._roles,
            "list": self._list,
            "and": lambda v: self._words("list.and").join(self._items(v)),
        }

    def format_field(self, value: Any, format_spec: str) -> Any:
        if isinstance(value, Message):
            value = value.render(self.language, self.tz)
        elif isinstance(value, Localized):
            value = value.in_language(self.language)
        if format_spec in _MOMENT_SPECS:
            return self._moment(value, format_spec)
        if format_spec in self._specs:
            return self._specs[format_spec](value)
        return super().format_field(value, format_spec)

    def _words(self, code: str, **params: Any) -> str:
        return render(code, params, self.language, self.tz, catalogue=self.catalogue)

    def _moment(self, value: Any, spec: str) -> str:
        if isinstance(value, str) and spec == "time" and _CLOCK.match(value):
            return value  # a wall-clock time kept as text (print reasons read from older rows)
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value or ":" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            if self.tz is not None:
                value = value.astimezone(self.tz)
        elif not isinstance(value, date) or spec in ("time", "datetime"):
            raise ValueError(f"{spec!r} needs a datetime, got {value!r}")
        day = value.day
        ordinal = "1er" if self.language == "fr" and day == 1 else str(day)
        pattern = (self.catalogue or catalogues())[self.language].ugettext(f"format.{spec}")
        pattern = pattern.replace("{d}", f"'{ordinal}'" if ordinal != str(day) else "d")
        if isinstance(value, datetime):
            value = value.replace(tzinfo=None)  # already local: formatted as is, no conversion by Babel
            if spec == "time":  # the hour alone: one remembered answer per time of day
                value = datetime.combine(_ANY_DAY, value.time())
        return _formatted(value, pattern, self.language)

    def _roles(self, value: Iterable[str]) -> str:
        names = [self._words(f"role.{role}") for role in value]
        return ", ".join(names) if names else self._words("role.nobody")

    def _items(self, value: Iterable[Any]) -> list[str]:
        return [str(self.format_field(item, "")) for item in value]

    def _list(self, value: Iterable[Any]) -> str:
        return ", ".join(self._items(value))


@lru_cache(maxsize=4096)
def _formatted(value: date, pattern: str, language: str) -> str:
    """``value`` (a date, or a local datetime without tzinfo) drawn with a CLDR ``pattern``.
    Remembered: the same days and hours come back in sentence after sentence (a booking's
    confirmation names three), and Babel parses the pattern and walks it at every call."""
    locale = babel_locale(language)
    if isinstance(value, datetime):
        return format_datetime(value, pattern, locale=locale)
    return format_date(value, pattern, locale=locale)


def format_duration(minutes: float, language: str, catalogue: Catalogues | None = None) -> str:
    """``45 min``, ``2 h``, ``1 h 30`` (French) / ``1 h 30 min`` (English), words from the catalogue."""
    hours, rest = divmod(round(minutes), 60)
    if hours == 0:
        return render("duration.minutes", {"minutes": rest}, language, catalogue=catalogue)
    if rest == 0:
        return render("duration.hours", {"hours": hours}, language, catalogue=catalogue)
    return render("duration.hours_minutes", {"hours": hours, "minutes": rest}, language, catalogue=catalogue)
