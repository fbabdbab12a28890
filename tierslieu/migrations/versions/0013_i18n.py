"""i18n: print reasons stored as a code and JSON parameters instead of French sentences

Jobs, runs and printers kept the French sentence of their reason, turned back into English by
regular expressions. They now keep the code and its parameters, put into words when shown
(tierslieu.i18n). Existing sentences are read once, here, with the templates they were
written from (frozen below: this file must keep reading what older versions wrote).

Revision ID: 0013_i18n
Revises: 0006_printer_mqtt
"""

import re
import string
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0013_i18n"
down_revision: str | Sequence[str] | None = "0006_printer_mqtt"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code -> (French template as written until this revision, detail in parentheses when known)
_FRENCH: dict[str, tuple[str, bool]] = {
    "no_active_booking": (
        "En attente d'une réservation de l'imprimante à votre nom : l'impression démarrera au début du créneau.",
        False,
    ),
    "booking_not_active": ("En attente du créneau réservé auquel ce travail est rattaché.", False),
    "fablab_closed": ("Le FabLab est fermé : l'impression attend la prochaine ouverture.", False),
    "does_not_fit": (
        "L'impression estimée ne se termine pas avant {until} "
        "(fin du créneau ou fermeture du FabLab) : elle attend un créneau assez long.",
        False,
    ),
    "behind_other_job": ("Une autre impression passe avant dans la file de cette imprimante.", False),
    "next_copy": ("Copie {copy} sur {copies} : elle démarrera quand le plateau aura été libéré.", False),
    "bed_not_clear": (
        "Le plateau de l'imprimante doit être libéré et confirmé (« plateau libéré ») avant l'impression suivante.",
        False,
    ),
    "printer_busy": ("L'imprimante est occupée par une autre impression.", False),
    "printer_offline": ("L'imprimante est hors ligne ; l'impression partira à son retour.", True),
    "printer_unreachable": ("OctoPrint ne répond pas ; nouvel essai automatique.", True),
    "printer_error": ("L'imprimante signale une erreur", True),
    "octoprint_auth": ("OctoPrint refuse la clé d'API de cette imprimante : un responsable doit la corriger.", False),
    "octoprint_garbled": ("OctoPrint a donné une réponse incompréhensible", True),
    "no_api_key": ("La clé d'API OctoPrint de cette imprimante n'est pas renseignée.", False),
    "not_started": ("OctoPrint a reçu le fichier mais n'a pas démarré l'impression ; nouvel essai", True),
    "file_missing": ("Le fichier G-code de ce travail a disparu du stockage : déposez-le à nouveau.", False),
    "print_failed": ("L'impression a échoué sur l'imprimante", True),
    "print_interrupted": ("L'impression s'est arrêtée avant la fin (annulée ou interrompue sur l'imprimante).", False),
    "print_lost": ("OctoPrint n'imprime plus ce travail (redémarrage ou autre impression lancée).", False),
    "paused": ("L'impression est en pause sur l'imprimante.", False),
    "cancelled_by": ("Annulé par {detail}.", False),
}
_FORMER_WORDINGS = {"Clé d'API OctoPrint non renseignée.": "no_api_key"}


def _pattern(template: str, detail_suffix: bool) -> re.Pattern[str]:
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P={name})" if name in seen else f"(?P<{name}>.+?)")
            seen.add(name)
    if detail_suffix and "detail" not in seen:
        parts.append(r"(?: \((?P<detail>.*)\))?")
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS = {code: _pattern(template, suffix) for code, (template, suffix) in _FRENCH.items()}


def _params(values: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in values.items():
        if value in ("", "?"):
            continue
        params[name] = int(value) if name in ("copy", "copies") and value.isdigit() else value
    return params


def read_sentence(sentence: str, code: str = "") -> tuple[str, dict[str, Any]]:
    """The code and parameters a stored French sentence states."""
    if not sentence:
        return code, {}
    if sentence in _FORMER_WORDINGS:
        return _FORMER_WORDINGS[sentence], {}
    for candidate in [code] if code else list(_PATTERNS):
        pattern = _PATTERNS.get(candidate)
        found = pattern.fullmatch(sentence) if pattern is not None else None
        if found is not None:
            return candidate, _params({k: v for k, v in found.groupdict().items() if v is not None})
    # Known code, unreadable text (truncated): the code says it again. Unknown: keep the words.
    return (code, {}) if code in _FRENCH else ("former_text", {"detail": sentence})


_TABLES = (
    # table, old sentence column, new code column, new parameters column, old code column
    ("print_job", "reason", "reason_code", "reason_params", "reason_code"),
    ("print_run", "reason", "reason_code", "reason_params", None),
    ("printer", "state_reason", "state_reason_code", "state_reason_params", None),
)


def upgrade() -> None:
    bind = op.get_bind()
    for table, sentence, code, params, old_code in _TABLES:
        if code != old_code:
            op.add_column(table, sa.Column(code, sa.String(length=64), nullable=False, server_default=""))
        op.add_column(table, sa.Column(params, sa.JSON(), nullable=False, server_default=sa.text("'{}'")))
        rows = sa.table(table, sa.column("id", sa.Integer()), sa.column(sentence, sa.String()),
                        sa.column(code, sa.String()), sa.column(params, sa.JSON()))  # fmt: skip
        for row in bind.execute(sa.select(rows.c.id, rows.c[sentence], rows.c[code])).all():
            found_code, found_params = read_sentence(row[1] or "", row[2] or "")
            update = rows.update().where(rows.c.id == row[0])
            bind.execute(update.values({code: found_code, params: found_params}))
        with op.batch_alter_table(table) as batch_op:  # SQLite before 3.35 cannot drop columns
            batch_op.drop_column(sentence)


def downgrade() -> None:
    # The sentences are not written back: the code stands in for them (what a reader can act on).
    bind = op.get_bind()
    for table, sentence, code, params, old_code in _TABLES:
        length = 500 if table == "printer" else 1000
        op.add_column(table, sa.Column(sentence, sa.String(length=length), nullable=False, server_default=""))
        rows = sa.table(table, sa.column(sentence, sa.String()), sa.column(code, sa.String()))
        bind.execute(rows.update().values({sentence: rows.c[code]}))
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(params)
            if code != old_code:
                batch_op.drop_column(code)
