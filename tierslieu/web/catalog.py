"""Keeping the catalogue in step with the web pages: ``python -m tierslieu.web.catalog``
extracts every message id from the templates and the web package and merges them into each
``tierslieu/locale/<lang>/LC_MESSAGES/messages.po`` (new ids arrive untranslated; a test then
fails until the French is written). Message codes (``quota_exceeded``…) are written by hand in
both files and kept by the merge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from tierslieu.i18n import LOCALE_DIR, SUPPORTED, is_code

__all__ = ["extract", "update_catalogues"]

WEB_DIR = Path(__file__).parent
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}


def extract(root: Path = WEB_DIR) -> Catalog:
    catalog = Catalog(project="tierslieu", domain="messages")
    found: Iterator[tuple[str, int, str | tuple[str, ...], list[str], str | None]] = extract_from_dir(
        str(root), METHODS, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True
    )
    for filename, lineno, message, comments, context in found:
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def update_catalogues(locale_dir: Path = LOCALE_DIR) -> None:
    template = extract()
    for lang in SUPPORTED:
        path = locale_dir / lang / "LC_MESSAGES" / "messages.po"
        if path.exists():
            with path.open("rb") as source:
                catalog = read_po(source, locale=lang)
        else:
            catalog = Catalog(locale=lang, project="tierslieu", domain="messages")
        catalog.update(template, no_fuzzy_matching=True)
        for msgid, message in list(catalog.obsolete.items()):
            if isinstance(msgid, str) and is_code(msgid):  # a domain message, not a page's
                catalog[msgid] = message
        catalog.obsolete.clear()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as target:
            write_po(target, catalog, width=120, omit_header=False, sort_output=False)


if __name__ == "__main__":
    update_catalogues()
