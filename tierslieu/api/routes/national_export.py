"""The place in France's national standard for digital-mediation places, for the national
cartography and anyone who reuses it: public information only, readable without login."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, Response

from tierslieu.api.deps import PUBLIC, RuntimeDep, SessionDep
from tierslieu.api.routing import PrefixRouter
from tierslieu.programme.national_export import export_csv, export_rows

router = PrefixRouter(prefix="/export", tags=["national export"], dependencies=[Depends(PUBLIC)])


@router.get(
    "/lieux-mediation-numerique",
    response_model=list[dict[str, Any]],
    responses={200: {"content": {"text/csv": {}}, "description": "JSON rows, or CSV with format=csv"}},
)
def lieux_mediation_numerique(
    session: SessionDep, runtime: RuntimeDep, format: Literal["json", "csv"] = "csv"
) -> list[dict[str, Any]] | Response:
    """One row per site in the standard ``standard-mediation-num`` v1.0.2 (LaMednum), built
    from the site file's public description and the workshops' themes and publics."""
    rows = export_rows(session, runtime.settings.tz)
    if format == "csv":
        return Response(
            content=export_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="lieux-mediation-numerique.csv"',
                "Cache-Control": "public, max-age=300",
            },
        )
    return [{k: v for k, v in row.items() if v is not None} for row in rows]
