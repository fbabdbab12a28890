"""Names are one line of text wherever they come from: API, web forms, the site file (finding 12)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tierslieu.errors import InvalidInput
from tierslieu.site.schema import SpaceSpec
from tierslieu.text import clean_name


@pytest.mark.parametrize("name", ["Salle\r\nX", "Nom\nSUMMARY:x", "A\tB", "A\x00B", "A\x1bB", "A\u2028B", "A\x85B"])
def test_control_characters_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_name(name)
    assert refused.value.code == "name_control_characters" and "saut de ligne" in refused.value.message("fr")
    with pytest.raises(ValidationError, match="saut de ligne"):
        SpaceSpec(name=name, kind="room")


def test_ordinary_names_pass_stripped() -> None:
    assert clean_name("  Salle d'ateliers — étage 1  ") == "Salle d'ateliers — étage 1"
    with pytest.raises(InvalidInput):
        clean_name("   ")
