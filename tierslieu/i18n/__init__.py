"""One message catalogue for the web, the API, the CLI and e-mails (issue 9).

Domain code says *what* happened with a stable code and parameters; this package says it in
French (the default) or English::

    from tierslieu.i18n import render
    render("quota_exceeded", {"used": 120, "monday": monday, "asked": 60, "limit": 180}, "en", tz)

The sentences live only in ``tierslieu/locale/<lang>/LC_MESSAGES/messages.po`` (msgid = code,
msgstr = sentence with ``{name}`` placeholders and Babel-rendered specs such as
``{start:time}``, ``{day:date}``, ``{minutes:duration}``: see :mod:`tierslieu.i18n.render`).
"""

from tierslieu.i18n.catalogue import LOCALE_DIR, Catalogues, catalogues, is_code
from tierslieu.i18n.languages import DEFAULT_LANGUAGE, SUPPORTED, babel_locale, pick_language, supported
from tierslieu.i18n.render import Localized, Message, MessageFormatter, format_duration, render

__all__ = [
    "DEFAULT_LANGUAGE",
    "LOCALE_DIR",
    "SUPPORTED",
    "Catalogues",
    "Localized",
    "Message",
    "MessageFormatter",
    "babel_locale",
    "catalogues",
    "format_duration",
    "is_code",
    "pick_language",
    "render",
    "supported",
]
