"""CSV for French spreadsheets, safe to open: the one writer every export uses.

``;``-separated, CRLF lines. A text cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab or
carriage return) is a formula to Excel and LibreOffice — a member named ``=HYPERLINK(…)`` would
run in the treasurer's spreadsheet — so such cells get a leading apostrophe, which spreadsheets
show as plain text (OWASP's advice for CSV injection). Numbers are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO

__all__ = ["FORMULA_STARTS", "SpreadsheetWriter", "safe_cell"]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SpreadsheetWriter:
    def __init__(self, out: IO[str]) -> None:
        self._writer = csv.writer(out, delimiter=";", lineterminator="\r\n")

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([safe_cell(cell) for cell in row])
