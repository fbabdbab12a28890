"""The one gettext catalogue of tierslieu: ``tierslieu/locale/<lang>/LC_MESSAGES/messages.po``.

It holds two kinds of message ids: the web pages' English sentences (``"Book"``; the English
catalogue may leave them untranslated) and the **codes** of domain messages
(``"quota_exceeded"``; both languages must translate them, with ``{name}`` placeholders).
The ``.po`` files are compiled in memory once per process, so a fresh clone needs no build step.
"""

from __future__ import annotations

import re
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from tierslieu.i18n.languages import DEFAULT_LANGUAGE, SUPPORTED

__all__ = ["CODE_PATTERN", "LOCALE_DIR", "Catalogues", "catalogues", "is_code", "po_path", "read_catalog"]

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
# A code is lower-case words joined by ``_``, ``.`` or ``-``: never a sentence.
CODE_PATTERN = re.compile(r"^[a-z][a-z0-9_.\-]*$")


def is_code(msgid: str) -> bool:
    return CODE_PATTERN.match(msgid) is not None


def po_path(language: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / language / "LC_MESSAGES" / "messages.po"


def read_catalog(language: str, locale_dir: Path = LOCALE_DIR) -> Catalog:
    with po_path(language, locale_dir).open("rb") as source:
        return read_po(source, locale=language)


class Catalogues:
    """One compiled :class:`Translations` per supported language; unknown languages get French."""

    def __init__(self, locale_dir: Path = LOCALE_DIR) -> None:
        sources = {lang: read_catalog(lang, locale_dir) for lang in SUPPORTED}
        self._by_lang = {lang: _compile(catalog) for lang, catalog in sources.items()}
        self._translated = {
            lang: frozenset(m.id for m in catalog if isinstance(m.id, str) and m.id and m.string)
            for lang, catalog in sources.items()
        }

    def __getitem__(self, language: str) -> Translations:
        return self._by_lang.get(language, self._by_lang[DEFAULT_LANGUAGE])

    def has(self, language: str, msgid: str) -> bool:
        """Whether ``msgid`` has a translation in ``language`` (not just a fallback)."""
        return msgid in self._translated.get(language, self._translated[DEFAULT_LANGUAGE])


def _compile(catalog: Catalog) -> Translations:
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


@cache
def catalogues() -> Catalogues:
    """The installed catalogues, compiled on first use; immutable afterwards, so shared."""
    return Catalogues()
