"""The one catalogue: every message code the code base uses has a French and an English
sentence, both languages hold the same ids, and the two sentences of a code take the same
parameters."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import string
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog

from devices.errors import DeviceError
from tierslieu.api.problems import HTTP_CODES
from tierslieu.errors import TiersLieuError
from tierslieu.i18n import SUPPORTED, is_code
from tierslieu.i18n.catalogue import po_path, read_catalog

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("tierslieu", "devices", "firmware_bridges")


def _import_everything() -> None:
    """Every module of the scanned packages, so that every error class is known below."""
    for package in SCANNED:
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, prefix=f"{package}."):
            if not info.name.endswith(("__main__", ".migrations.env")) and ".versions." not in info.name:
                importlib.import_module(info.name)


def _subclass_names(cls: type[Exception]) -> set[str]:
    names = {cls.__name__}
    for sub in cls.__subclasses__():
        names |= _subclass_names(sub)
    return names


# Calls whose first string argument is a message id (unless ``msgid=`` names it): the errors
# (tierslieu's and the device layer's), a Message, the booking rules' violations, the
# recurrence errors, and the functions that render a code (``render``, the API's
# ``_problem_detail``), called by name.
_import_everything()
ERRORS = _subclass_names(TiersLieuError)
DEVICE_ERRORS = _subclass_names(DeviceError)
CODE_CALLS = ERRORS | DEVICE_ERRORS | {"Message", "_violation", "RecurrenceError"}
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


def _literals(expr: ast.expr) -> list[str]:
    """The message ids an expression can give: a literal, or both branches of ``a if x else b``."""
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.IfExp):
        return _literals(expr.body) + _literals(expr.orelse)
    return []


def used_codes() -> Iterator[tuple[str, str]]:
    """``(msgid, "file:line")`` for every literal message id in the code: passed as ``msgid=``
    to any call, or as the first string argument of a code-taking call."""
    for package in SCANNED:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "msgid":
                    for msgid in _literals(node.value):
                        yield msgid, f"{path.relative_to(ROOT)}:{node.lineno}"
                    continue
                if (
                    not isinstance(node, ast.Call)
                    or _callee(node) not in CODE_CALLS | CODE_FUNCTIONS
                    or _is_legacy(node)
                ):
                    continue
                if any(k.arg == "msgid" for k in node.keywords):
                    continue  # the code is not the message id here
                args = node.args[:1] if _callee(node) == "render" else node.args  # render(code, params, "en")
                literals = [a.value for a in args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
                if literals:
                    yield literals[0], f"{path.relative_to(ROOT)}:{node.lineno}"
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


def test_no_message_id_is_also_a_web_page_word() -> None:
    """The pages' one-word ids (``closed``: a door) must not double as a domain message id."""
    from tierslieu.web.catalog import extract

    page_ids = {m.id for m in extract() if isinstance(m.id, str)}
    clashes = sorted(f"{where}: {msgid!r}" for msgid, where in used_codes() if msgid in page_ids)
    assert clashes == []


def test_no_message_id_is_written_twice() -> None:
    """The ``.po`` files merge as a union (``.gitattributes``): a code added on two branches must
    not end up twice, one sentence silently hiding the other."""
    for lang in SUPPORTED:
        text = po_path(lang).read_text(encoding="utf-8")
        ids = [line for line in text.splitlines() if line.startswith("msgid ") and line != 'msgid ""']
        doubled = sorted({msgid for msgid in ids if ids.count(msgid) > 1})
        assert doubled == [], f"{lang}: {doubled}"
