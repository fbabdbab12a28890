"""Which language to answer in: French unless the reader prefers English."""

from __future__ import annotations

from functools import cache

from babel import Locale

__all__ = ["BABEL_LOCALES", "DEFAULT_LANGUAGE", "SUPPORTED", "babel_locale", "pick_language", "supported"]

SUPPORTED = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
# The Babel (CLDR) locale of each language: its month and weekday names.
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}


def supported(language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """``language`` if we speak it, else ``default`` (``"en-GB"`` counts as ``"en"``)."""
    short = (language or "").strip().lower()[:2]
    return short if short in SUPPORTED else default


def babel_locale(language: str) -> Locale:
    """The language's Babel locale, parsed once: Babel parses an identifier at every call it is
    given to (eight per sentence with a date in it)."""
    return _locale(supported(language))


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(BABEL_LOCALES[language])


def pick_language(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The supported language an ``Accept-Language`` header prefers (highest ``q``), else ``default``."""
    if not accept_language:
        return default
    best, best_q = default, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in SUPPORTED and q > best_q:
            best, best_q = lang, q
    return best
