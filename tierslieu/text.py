"""Plain-text names: one check for every name a person types (members, spaces, resources)."""

from __future__ import annotations

import re

from tierslieu.errors import InvalidInput

__all__ = ["CONTROL_CHARACTERS", "clean_name"]

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
