"""Why a print job waits or stopped: stable codes with French and English sentences.

A :class:`Reason` is what the pure decisions return; :func:`describe` turns it into the sentence
stored on the job (French) or shown to an English-speaking user. Times are shown in the site's
local time.

Jobs and printers store the French sentence (it is what the town's staff read in the database
and the exports), so :func:`translate` turns a stored sentence back into English: each code's
French template is also a pattern, and the values it carries (OctoPrint's words, a time, copy
numbers) are carried over. Sentences that match no template (older wordings, truncated text)
are returned unchanged: a French sentence beats a made-up English one.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["LANGUAGES", "Reason", "Recognised", "describe", "recognise", "translate"]

LANGUAGES: Final = ("fr", "en")


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str = ""  # words repeated as given: OctoPrint's message, a person's name
    until: datetime | None = None  # the limit a job did not fit before
    extra: Mapping[str, int] = field(default_factory=dict)


class _Values(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"  # a value lost from an old sentence: say so rather than fail


@dataclass(frozen=True, slots=True)
class _Text:
    """A code's sentences; ``{detail}``, ``{until}``, ``{copy}``, ``{copies}`` are filled in.

    With ``detail_suffix`` the detail, when there is one, follows in parentheses.
    """

    fr: str
    en: str
    detail_suffix: bool = False

    def render(self, language: str, values: Mapping[str, str]) -> str:
        text = (self.en if language == "en" else self.fr).format_map(_Values(values))
        detail = values.get("detail", "")
        return f"{text} ({detail})" if self.detail_suffix and detail else text


_TEXTS: Final[Mapping[str, _Text]] = {
    "no_active_booking": _Text(
        "En attente d'une réservation de l'imprimante à votre nom : l'impression démarrera au début du créneau.",
        "Waiting for a booking of this printer in your name: it will start when the slot begins.",
    ),
    "booking_not_active": _Text(
        "En attente du créneau réservé auquel ce travail est rattaché.",
        "Waiting for the booked slot this job is attached to.",
    ),
    "fablab_closed": _Text(
        "Le FabLab est fermé : l'impression attend la prochaine ouverture.",
        "The FabLab is closed: the print waits for the next opening.",
    ),
    "does_not_fit": _Text(
        "L'impression estimée ne se termine pas avant {until} "
        "(fin du créneau ou fermeture du FabLab) : elle attend un créneau assez long.",
        "The estimated print would not finish before {until} "
        "(end of the slot or FabLab closing): it waits for a long enough slot.",
    ),
    "behind_other_job": _Text(
        "Une autre impression passe avant dans la file de cette imprimante.",
        "Another print goes first on this printer.",
    ),
    "next_copy": _Text(
        "Copie {copy} sur {copies} : elle démarrera quand le plateau aura été libéré.",
        "Copy {copy} of {copies}: it starts once the bed has been cleared.",
    ),
    "bed_not_clear": _Text(
        "Le plateau de l'imprimante doit être libéré et confirmé (« plateau libéré ») avant l'impression suivante.",
        "The printer's bed must be cleared and confirmed (“bed cleared”) before the next print.",
    ),
    "printer_busy": _Text(
        "L'imprimante est occupée par une autre impression.",
        "The printer is busy with another print.",
    ),
    "printer_offline": _Text(
        "L'imprimante est hors ligne ; l'impression partira à son retour.",
        "The printer is offline; the print starts when it is back.",
        detail_suffix=True,
    ),
    "printer_unreachable": _Text(
        "OctoPrint ne répond pas ; nouvel essai automatique.",
        "OctoPrint does not answer; retrying automatically.",
        detail_suffix=True,
    ),
    "printer_error": _Text(
        "L'imprimante signale une erreur",
        "The printer reports an error",
        detail_suffix=True,
    ),
    "octoprint_auth": _Text(
        "OctoPrint refuse la clé d'API de cette imprimante : un responsable doit la corriger.",
        "OctoPrint refuses this printer's API key: staff must fix it.",
    ),
    "octoprint_garbled": _Text(
        "OctoPrint a donné une réponse incompréhensible",
        "OctoPrint gave an answer we cannot read",
        detail_suffix=True,
    ),
    "no_api_key": _Text(
        "La clé d'API OctoPrint de cette imprimante n'est pas renseignée.",
        "This printer's OctoPrint API key is not set.",
    ),
    "not_started": _Text(
        "OctoPrint a reçu le fichier mais n'a pas démarré l'impression ; nouvel essai",
        "OctoPrint received the file but did not start printing; will retry",
        detail_suffix=True,
    ),
    "file_missing": _Text(
        "Le fichier G-code de ce travail a disparu du stockage : déposez-le à nouveau.",
        "This job's G-code file is missing from storage: upload it again.",
    ),
    "print_failed": _Text(
        "L'impression a échoué sur l'imprimante",
        "The print failed on the printer",
        detail_suffix=True,
    ),
    "print_interrupted": _Text(
        "L'impression s'est arrêtée avant la fin (annulée ou interrompue sur l'imprimante).",
        "The print stopped before the end (cancelled or interrupted on the printer).",
    ),
    "print_lost": _Text(
        "OctoPrint n'imprime plus ce travail (redémarrage ou autre impression lancée).",
        "OctoPrint no longer prints this job (restarted, or another print was started).",
    ),
    "paused": _Text(
        "L'impression est en pause sur l'imprimante.",
        "The print is paused on the printer.",
    ),
    "cancelled_by": _Text("Annulé par {detail}.", "Cancelled by {detail}."),
}

# Sentences written by earlier code that still sit in databases, with the code they mean.
_FORMER_WORDINGS: Final[Mapping[str, str]] = {
    "Clé d'API OctoPrint non renseignée.": "no_api_key",
}


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment else "?"


def _values(reason: Reason, tz: ZoneInfo) -> dict[str, str]:
    return {
        "detail": reason.detail,
        "until": _hm(reason.until, tz),
        "copy": str(reason.extra.get("copy", "?")),
        "copies": str(reason.extra.get("copies", "?")),
    }


def describe(reason: Reason, tz: ZoneInfo, language: str = "fr") -> str:
    text = _TEXTS.get(reason.code)
    if text is None:
        return reason.detail or reason.code
    return text.render(language, _values(reason, tz))


# --- reading a stored sentence back -------------------------------------------------------------


def _pattern(text: _Text) -> re.Pattern[str]:
    """The French template as a regular expression whose named groups are its values."""
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _spec, _conversion in string.Formatter().parse(text.fr):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    if text.detail_suffix and "detail" not in seen:
        parts.append(r"(?: \((?P<detail>.*)\))?")
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS: Final[Mapping[str, re.Pattern[str]]] = {code: _pattern(text) for code, text in _TEXTS.items()}


@dataclass(frozen=True, slots=True)
class Recognised:
    code: str
    values: Mapping[str, str]


def _match(code: str, stored: str) -> Recognised | None:
    pattern = _PATTERNS.get(code)
    found = pattern.fullmatch(stored) if pattern is not None else None
    if found is None:
        return None
    return Recognised(code, {name: value for name, value in found.groupdict().items() if value is not None})


def recognise(stored: str, code: str = "") -> Recognised | None:
    """Which reason a stored French sentence states (``code`` first, when it is known)."""
    if stored in _FORMER_WORDINGS:
        return Recognised(_FORMER_WORDINGS[stored], {})
    if code:
        return _match(code, stored)
    return next((found for c in _PATTERNS if (found := _match(c, stored)) is not None), None)


def translate(stored: str, language: str, code: str = "") -> str:
    """A stored French sentence in ``language`` (French or English); see the module docstring."""
    if language != "en" or not stored:
        return stored
    found = recognise(stored, code)
    if found is None:
        return stored
    return _TEXTS[found.code].render("en", found.values)
