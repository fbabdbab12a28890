"""Choosing the language of a response: French unless the client prefers English."""

from __future__ import annotations

SUPPORTED = ("fr", "en")


def pick_language(accept_language: str | None, default: str = "fr") -> str:
    if not accept_language:
        return default
    best, best_q = default, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if lang in SUPPORTED and q > best_q:
            best, best_q = lang, q
    return best
