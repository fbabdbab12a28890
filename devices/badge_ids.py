"""One badge identity whatever the reader: the canonical stored form of a tag, a Wiegand
frame or a keypad PIN, and the conversions from what firmwares print and people write.

A tag (RFID UID, EM4100 number, Wiegand data bits) is a number; its canonical form is that
number in uppercase hexadecimal over the fewest whole bytes: ``74103794`` (4-byte MIFARE),
``04A224E2C05E80`` (7-byte MIFARE), ``8EC793`` (the EM4100 tag printed ``0009357203`` on the
card, which Tasmota's RDM6300 driver reports as ``008EC793`` and ESPHome's as ``9357203``),
``763AE8`` (Wiegand 26, facility 118 card 15080). Leading zero bytes carry nothing: a reader
that pads and one that does not give the same badge. A keypad PIN is kept as its digits
(leading zeros count) behind a prefix that no hexadecimal can spell: ``PIN:0042``.
"""

from __future__ import annotations

import re
from typing import Literal

__all__ = [
    "PIN_PREFIX",
    "WRITTEN_FORMATS",
    "UidFormat",
    "WrittenFormat",
    "badge_id",
    "canonical_uid",
    "from_written",
    "pin_id",
    "uid_from_decimal",
    "uid_from_number",
    "wiegand_id",
]

PIN_PREFIX = "PIN:"
UidFormat = Literal["hex", "decimal"]
# How people write a badge on an enrolment form: hex (with or without separators), the decimal
# number printed on 125 kHz cards, a Wiegand facility and card ("118,15080"), a keypad PIN.
WrittenFormat = Literal["hex", "decimal", "wiegand26", "wiegand34", "pin"]
WRITTEN_FORMATS: tuple[WrittenFormat, ...] = ("hex", "decimal", "wiegand26", "wiegand34", "pin")
_FACILITY_CARD = re.compile(r"\s*(\d{1,5})\s*[,:/ ]\s*(\d{1,5})\s*")

_SEPARATORS = re.compile(r"[-:\s]+")
_HEX = re.compile(r"[0-9A-F]+")
_DIGITS = re.compile(r"[0-9]+")
_MAX_HEX_DIGITS = 32  # 16 bytes: longer than any UID a reader reports
_MAX_PIN_DIGITS = 12


def uid_from_number(number: int) -> str:
    """The canonical form of a tag read as a number (``7616525`` -> ``743A0D``)."""
    if isinstance(number, bool) or not isinstance(number, int) or number < 0:
        raise ValueError(f"not a badge number: {number!r}")
    digits = f"{number:X}"
    if len(digits) > _MAX_HEX_DIGITS:
        raise ValueError("badge number too large")
    return digits.zfill(len(digits) + len(digits) % 2)


def canonical_uid(raw: str) -> str:
    """A tag written in hexadecimal, as readers and people write it, in canonical form.

    Accepts separators (``74-10-37-94``, ``74:10:37:94``, ``74 10 37 94``), a ``0x`` prefix,
    Tasmota's hex-mode suffix ``h`` (``763AE8h``) and lowercase. Byte groups of one digit are
    zero-padded (``4-a`` is ``040A``). A canonical PIN (``PIN:0042``) is returned as it is.
    Raises ValueError for anything else.
    """
    if not isinstance(raw, str):
        raise ValueError(f"badge id must be text, got {type(raw).__name__}")
    text = raw.strip().upper()
    if text.startswith(PIN_PREFIX):
        return pin_id(text[len(PIN_PREFIX) :])
    if text.startswith("0X"):
        text = text[2:]
    elif text.endswith("H"):
        text = text[:-1]
    groups = [group for group in _SEPARATORS.split(text) if group]
    if len(groups) > 1 and all(len(group) <= 2 for group in groups):
        groups = [group.zfill(2) for group in groups]
    digits = "".join(groups)
    if not digits or len(digits) > _MAX_HEX_DIGITS or not _HEX.fullmatch(digits):
        raise ValueError(f"not a badge id: {raw[:80]!r}")
    return uid_from_number(int(digits, 16))


def uid_from_decimal(raw: str) -> str:
    """A tag written as a decimal number (``"7616525"``, ``"0007616525"``) in canonical form."""
    text = raw.strip() if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text) or len(text) > 40:
        raise ValueError(f"not a decimal badge number: {str(raw)[:80]!r}")
    return uid_from_number(int(text))


def badge_id(raw: str, uid_format: UidFormat) -> str:
    """A tag as a reader or a person wrote it, in ``uid_format``."""
    return uid_from_decimal(raw) if uid_format == "decimal" else canonical_uid(raw)


def wiegand_id(facility: int, card: int, bits: Literal[26, 34]) -> str:
    """The tag of a Wiegand frame: facility code and card number (26 bits: 8 + 16; 34: 16 + 16)."""
    facility_max = 0xFF if bits == 26 else 0xFFFF
    if not 0 <= facility <= facility_max or not 0 <= card <= 0xFFFF:
        raise ValueError(f"not a Wiegand {bits} frame: facility {facility}, card {card}")
    return uid_from_number(facility << 16 | card)


def pin_id(digits: str) -> str:
    """A keypad PIN (``"0042"`` -> ``PIN:0042``): its digits as typed, leading zeros included."""
    text = digits.strip() if isinstance(digits, str) else ""
    if not _DIGITS.fullmatch(text) or len(text) > _MAX_PIN_DIGITS:
        raise ValueError(f"not a PIN: {str(digits)[:20]!r}")
    return PIN_PREFIX + text


def from_written(text: str, written: WrittenFormat = "hex") -> str:
    """A badge as written on an enrolment form, in canonical form; ValueError if it is not one."""
    if written == "pin":
        return pin_id(text)
    if written in ("wiegand26", "wiegand34"):
        found = _FACILITY_CARD.fullmatch(text) if isinstance(text, str) else None
        if found is None:
            raise ValueError(f"not a facility,card pair: {str(text)[:40]!r}")
        return wiegand_id(int(found[1]), int(found[2]), 26 if written == "wiegand26" else 34)
    return badge_id(text, "decimal" if written == "decimal" else "hex")
