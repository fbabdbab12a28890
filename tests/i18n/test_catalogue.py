"""The one catalogue: every message code the code base uses has a French and an English
sentence, both languages hold the same ids, and the two sentences of a code take the same
parameters."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog

from tierslieu.api.problems import HTTP_CODES
from tierslieu.errors import TiersLieuError
from tierslieu.i18n import SUPPORTED, is_code
from tierslieu.i18n.catalogue import read_catalog

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tierslieu", "devices", "firmware_bridges")


def _subclass_names(cls: type[Exception]) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _subclass_names(sub)
    return names


# Calls whose first argument (or ``code=``) is a message code: the errors, a Message, and the
# functions that render a code (``render``, the API's ``_problem_detail``), called by name.
ERRORS = _subclass_names(TiersLieuError)
CODE_CALLS = ERRORS | {"Message"}
CODE_FUNCTIONS = {"render", "_problem_detail"}


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    # ``errors.Conflict(...)``, but not ``message.render("fr")`` (a language, not a code)
    if isinstance(call.func, ast.Attribute) and call.func.attr not in CODE_FUNCTIONS:
        return call.func.attr
    return None


def _is_legacy(call: ast.Call) -> bool:
    """The transitional ``(code, message_fr, message_en)`` form carries its own sentences."""
    return _callee(call) in ERRORS and len(call.args) > 1


def used_codes() -> Iterator[tuple[str, str]]:
    """``(code, "file:line")`` for every literal code passed to a code-taking call (its first
    string literal argument, or ``code=``)."""
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if (
                    not isinstance(node, ast.Call)
                    or _callee(node) not in CODE_CALLS | CODE_FUNCTIONS
                    or _is_legacy(node)
                ):
                    continue
                literals = [a for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                candidates: list[ast.expr] = list(literals[:1])  # the first string literal: the code
                candidates += [k.value for k in node.keywords if k.arg == "code"]
                for arg in candidates:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        yield arg.value, f"{path.relative_to(ROOT)}:{node.lineno}"
    for status, code in HTTP_CODES.items():
        yield code, f"tierslieu/api/problems.py HTTP_CODES[{status}]"


def _catalogs() -> dict[str, Catalog]:
    return {lang: read_catalog(lang) for lang in SUPPORTED}


def _sentences(catalog: Catalog) -> dict[str, str]:
    return {m.id: m.string for m in catalog if isinstance(m.id, str) and m.id and isinstance(m.string, str)}


def _fields(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def test_the_scan_finds_the_codes_of_the_code_base() -> None:
    found = dict(used_codes())
    assert "not_authenticated" in found and "conflict" in found
    assert len(found) >= 10, found


def test_every_code_used_has_french_and_english() -> None:
    catalogs = {lang: _sentences(c) for lang, c in _catalogs().items()}
    missing = sorted(
        f"{where}: {code!r} has no {lang}"
        for code, where in used_codes()
        for lang in SUPPORTED
        if not catalogs[lang].get(code)
    )
    assert missing == [], "add these codes to tierslieu/locale/*/LC_MESSAGES/messages.po:\n" + "\n".join(missing)


def test_both_languages_hold_the_same_ids() -> None:
    ids = {lang: {m.id if isinstance(m.id, str) else tuple(m.id) for m in c if m.id} for lang, c in _catalogs().items()}
    only_fr, only_en = ids["fr"] - ids["en"], ids["en"] - ids["fr"]
    assert (sorted(map(str, only_fr)), sorted(map(str, only_en))) == ([], [])


def test_every_code_in_the_catalogue_is_translated_in_both_with_the_same_parameters() -> None:
    catalogs = {lang: _sentences(c) for lang, c in _catalogs().items()}
    codes = sorted(msgid for msgid in catalogs["fr"] if is_code(msgid))
    assert codes, "no code in the catalogue"
    untranslated = [f"{code} ({lang})" for code in codes for lang in SUPPORTED if not catalogs[lang].get(code)]
    assert untranslated == []
    mismatched = [
        f"{code}: fr {sorted(_fields(catalogs['fr'][code]))} vs en {sorted(_fields(catalogs['en'][code]))}"
        for code in codes
        if _fields(catalogs["fr"][code]) != _fields(catalogs["en"][code])
    ]
    assert mismatched == []
