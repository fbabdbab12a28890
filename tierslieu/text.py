"""Plain-text names: one check for every name a person types (members, spaces, resources)."""

from __future__ import annotations

import re
import unicodedata

from tierslieu.errors import InvalidInput

__all__ = ["CONTROL_CHARACTERS", "SLUG_PATTERN", "clean_name", "slugify"]

# C0 and C1 controls (CR, LF, TAB, NUL, ESC…) and the Unicode line/paragraph separators: a name
# is one line of text; a line break in it would break iCalendar feeds, CSV files and log lines.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_name(value: str) -> str:
    """The name stripped, or ``InvalidInput`` when it is empty or holds a control character."""
    name = value.strip()
    if not name:
        raise InvalidInput("invalid_name")
    if CONTROL_CHARACTERS.search(name):
        raise InvalidInput("name_control_characters")
    return name


SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"


def slugify(name: str) -> str:
    """``Tiers-lieu de Trilport`` → ``tiers-lieu-de-trilport``: a site's name as it reads in a URL."""
    ascii_only = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")[:64].strip("-") or "site"
