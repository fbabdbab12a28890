"""Why a print job waits or stopped: stable codes with French and English sentences.

A :class:`Reason` is what the pure decisions return; :func:`describe` turns it into the sentence
stored on the job (French) or shown to an English-speaking user. Times are shown in the site's
local time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

__all__ = ["Reason", "describe"]


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str = ""  # OctoPrint's own words, when it gave any
    until: datetime | None = None  # the limit a job did not fit before
    extra: Mapping[str, int] = field(default_factory=dict)


def _hm(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%H:%M") if moment else "?"


def _with_detail(text: str, reason: Reason) -> str:
    return f"{text} ({reason.detail})" if reason.detail else text


Render = Callable[[Reason, ZoneInfo], str]

_TEXTS: Final[Mapping[str, tuple[Render, Render]]] = {
    "no_active_booking": (
        lambda r, tz: (
            "En attente d'une réservation de l'imprimante à votre nom : l'impression démarrera au début du créneau."
        ),
        lambda r, tz: "Waiting for a booking of this printer in your name: it will start when the slot begins.",
    ),
    "booking_not_active": (
        lambda r, tz: "En attente du créneau réservé auquel ce travail est rattaché.",
        lambda r, tz: "Waiting for the booked slot this job is attached to.",
    ),
    "fablab_closed": (
        lambda r, tz: "Le FabLab est fermé : l'impression attend la prochaine ouverture.",
        lambda r, tz: "The FabLab is closed: the print waits for the next opening.",
    ),
    "does_not_fit": (
        lambda r, tz: (
            f"L'impression estimée ne se termine pas avant {_hm(r.until, tz)} "
            "(fin du créneau ou fermeture du FabLab) : elle attend un créneau assez long."
        ),
        lambda r, tz: (
            f"The estimated print would not finish before {_hm(r.until, tz)} "
            "(end of the slot or FabLab closing): it waits for a long enough slot."
        ),
    ),
    "behind_other_job": (
        lambda r, tz: "Une autre impression passe avant dans la file de cette imprimante.",
        lambda r, tz: "Another print goes first on this printer.",
    ),
    "next_copy": (
        lambda r, tz: (
            f"Copie {r.extra.get('copy', '?')} sur {r.extra.get('copies', '?')} : "
            "elle démarrera quand le plateau aura été libéré."
        ),
        lambda r, tz: (
            f"Copy {r.extra.get('copy', '?')} of {r.extra.get('copies', '?')}: it starts once the bed has been cleared."
        ),
    ),
    "bed_not_clear": (
        lambda r, tz: (
            "Le plateau de l'imprimante doit être libéré et confirmé (« plateau libéré ») avant l'impression suivante."
        ),
        lambda r, tz: "The printer's bed must be cleared and confirmed (“bed cleared”) before the next print.",
    ),
    "printer_busy": (
        lambda r, tz: "L'imprimante est occupée par une autre impression.",
        lambda r, tz: "The printer is busy with another print.",
    ),
    "printer_offline": (
        lambda r, tz: _with_detail("L'imprimante est hors ligne ; l'impression partira à son retour.", r),
        lambda r, tz: _with_detail("The printer is offline; the print starts when it is back.", r),
    ),
    "printer_unreachable": (
        lambda r, tz: _with_detail("OctoPrint ne répond pas ; nouvel essai automatique.", r),
        lambda r, tz: _with_detail("OctoPrint does not answer; retrying automatically.", r),
    ),
    "printer_error": (
        lambda r, tz: _with_detail("L'imprimante signale une erreur", r),
        lambda r, tz: _with_detail("The printer reports an error", r),
    ),
    "octoprint_auth": (
        lambda r, tz: "OctoPrint refuse la clé d'API de cette imprimante : un responsable doit la corriger.",
        lambda r, tz: "OctoPrint refuses this printer's API key: staff must fix it.",
    ),
    "octoprint_garbled": (
        lambda r, tz: _with_detail("OctoPrint a donné une réponse incompréhensible", r),
        lambda r, tz: _with_detail("OctoPrint gave an answer we cannot read", r),
    ),
    "no_api_key": (
        lambda r, tz: "La clé d'API OctoPrint de cette imprimante n'est pas renseignée.",
        lambda r, tz: "This printer's OctoPrint API key is not set.",
    ),
    "not_started": (
        lambda r, tz: _with_detail("OctoPrint a reçu le fichier mais n'a pas démarré l'impression ; nouvel essai", r),
        lambda r, tz: _with_detail("OctoPrint received the file but did not start printing; will retry", r),
    ),
    "file_missing": (
        lambda r, tz: "Le fichier G-code de ce travail a disparu du stockage : déposez-le à nouveau.",
        lambda r, tz: "This job's G-code file is missing from storage: upload it again.",
    ),
    "print_failed": (
        lambda r, tz: _with_detail("L'impression a échoué sur l'imprimante", r),
        lambda r, tz: _with_detail("The print failed on the printer", r),
    ),
    "print_interrupted": (
        lambda r, tz: "L'impression s'est arrêtée avant la fin (annulée ou interrompue sur l'imprimante).",
        lambda r, tz: "The print stopped before the end (cancelled or interrupted on the printer).",
    ),
    "print_lost": (
        lambda r, tz: "OctoPrint n'imprime plus ce travail (redémarrage ou autre impression lancée).",
        lambda r, tz: "OctoPrint no longer prints this job (restarted, or another print was started).",
    ),
    "paused": (
        lambda r, tz: "L'impression est en pause sur l'imprimante.",
        lambda r, tz: "The print is paused on the printer.",
    ),
    "cancelled_by": (
        lambda r, tz: "Annulé à la demande d'un utilisateur.",
        lambda r, tz: "Cancelled at a user's request.",
    ),
}


def _unknown(reason: Reason, tz: ZoneInfo) -> str:
    return reason.detail or reason.code


def describe(reason: Reason, tz: ZoneInfo, language: str = "fr") -> str:
    french, english = _TEXTS.get(reason.code, (_unknown, _unknown))
    text: str = english(reason, tz) if language == "en" else french(reason, tz)
    return text
