"""One badge identity: the forms readers print and people write all give the stored form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.badge_ids import badge_id, canonical_uid, pin_id, uid_from_decimal, uid_from_number, wiegand_id


@pytest.mark.parametrize(
    ("written", "uid_format"),
    [
        ("9357203", "decimal"),  # ESPHome RDM6300 on_tag to_string(x)
        ("0009357203", "decimal"),  # printed on the card
        ("008EC793", "hex"),  # Tasmota RDM6300 driver (%08X)
        ("8ec793", "hex"),
        ("00-8E-C7-93", "hex"),
        ("0x8EC793", "hex"),
    ],
)
def test_one_em4100_tag_whatever_the_reader(written: str, uid_format: str) -> None:
    assert badge_id(written, uid_format) == "8EC793"  # type: ignore[arg-type]


def test_wiegand_frames_facility_and_card() -> None:
    assert wiegand_id(118, 15080, 26) == "763AE8" == canonical_uid("763AE8h") == uid_from_number(7748328)
    assert wiegand_id(256, 30312, 34) == uid_from_number((256 << 16) | 30312)
    with pytest.raises(ValueError):
        wiegand_id(256, 1, 26)  # a 26-bit frame has an 8-bit facility
    with pytest.raises(ValueError):
        wiegand_id(1, 70000, 34)


def test_mifare_uids_keep_their_bytes() -> None:
    assert canonical_uid("04:A2:24:E2:C0:5E:80") == "04A224E2C05E80"
    assert canonical_uid("BA839D07") == "BA839D07"


def test_pins_keep_their_leading_zeros_and_never_meet_a_tag() -> None:
    assert pin_id("0042") == "PIN:0042" == canonical_uid("pin:0042")
    assert pin_id("0042") != pin_id("42")
    for bad in ("", "12a", "1" * 13):
        with pytest.raises(ValueError):
            pin_id(bad)


@given(st.integers(min_value=0, max_value=2**64))
def test_decimal_and_hex_spellings_agree(number: int) -> None:
    uid = uid_from_number(number)
    assert uid_from_decimal(str(number)) == uid == canonical_uid(f"{number:X}") == canonical_uid(f"{number:020X}")
    assert len(uid) % 2 == 0 and canonical_uid(uid) == uid
