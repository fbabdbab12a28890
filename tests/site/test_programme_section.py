"""The ``programme:`` section of the site file: checked like the rest, every problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tierslieu.models.programme import Public
from tierslieu.site import check_site_file, parse_site_text

TRILPORT = Path(__file__).resolve().parents[2] / "config" / "trilport.yaml"

SITE = """
site: {name: Test}
spaces:
  - name: Bâtiment
    kind: building
    rules: {opening_hours: {tue: ["08:00-18:00"]}}
    resources:
      - {name: Salle A, kind: room, capacity: 30}
      - {name: Imprimante, kind: printer}
programme:
  workshops:
    - title: Atelier
      themes: [Maîtrise des outils numériques du quotidien]
      publics: [seniors]
      duration_minutes: 120
      capacity: 12
      room: Salle A
      schedule: [{weekday: tue, time: "14:00"}]
"""


def test_trilport_carries_a_realistic_programme() -> None:
    site, problems = check_site_file(TRILPORT)
    assert problems == [] and site is not None and site.programme is not None
    by_title = {w.title: w for w in site.programme.workshops}
    seniors = by_title["Atelier numérique seniors"]
    assert seniors.publics == [Public.seniors]
    assert [(s.weekday, s.time, s.repeat) for s in seniors.schedule] == [("tue", "14:00", "weekly")]
    fablab = by_title["Fabriquer un objet avec l'imprimante 3D"]
    assert fablab.printers and fablab.groups[0].head_count == 28 and "scolaires" in fablab.publics
    advisor_room = next(s for _p, s, _q in site.walk() if s.name == "Espace conseillère numérique")
    assert advisor_room.rules.opening_hours, "the advisor's appointment hours"


def test_a_minimal_programme_is_valid() -> None:
    site, problems = parse_site_text(SITE)
    assert problems == [] and site is not None and site.programme is not None
    assert site.programme.weeks_ahead == 6


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (("room: Salle A", "room: Salle Z"), "programme.workshops[0].room"),
        (("room: Salle A", "room: Imprimante"), "programme.workshops[0].room"),
        (("room: Salle A", "room: Salle A\n      printers: [Salle A]"), "programme.workshops[0].printers[0]"),
        (('time: "14:00"', 'time: "25:00"'), "programme.workshops[0].schedule[0].time"),
        (("weekday: tue", "weekday: mardi"), "programme.workshops[0].schedule[0].weekday"),
        (("capacity: 12", "capacity: 0"), "programme.workshops[0].capacity"),
        (("publics: [seniors]", "publics: []"), "programme.workshops[0].publics"),
        (("publics: [seniors]", "publics: [retraités]"), "programme.workshops[0].publics[0]"),
        (("themes: [Maîtrise", "themes: [Bureautique, Maîtrise"), "programme.workshops[0].themes[0]"),
        (("room: Salle A", "room: Salle A\n      colour: red"), "programme.workshops[0].colour"),
        (
            ("room: Salle A", "room: Salle A\n      groups: [{name: Classe, head_count: 28}]"),
            "programme.workshops[0].groups[0].head_count",
        ),
    ],
)
def test_programme_problems_name_their_location(change: tuple[str, str], path: str) -> None:
    site, problems = parse_site_text(SITE.replace(*change))
    assert site is None
    assert path in [p.path for p in problems], problems
    located = next(p for p in problems if p.path == path)
    assert located.line is not None and located.line > 10


def test_duplicate_titles_are_refused() -> None:
    text = SITE + SITE[SITE.index("    - title: Atelier") :]
    site, problems = parse_site_text(text)
    assert site is None
    assert [p.path for p in problems] == ["programme.workshops[1].title"]
