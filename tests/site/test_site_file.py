"""The site description: every problem reported with its location; loading is idempotent."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.support.site import TRILPORT
from tierslieu.models import Device, Printer, Resource, Space
from tierslieu.runtime import Runtime
from tierslieu.site import SiteProblem, check_site_file, load_site, parse_site_text

MINIMAL = """
site: {name: Test}
spaces:
  - name: Bâtiment
    kind: building
    rules: {opening_hours: {mon: ["08:00-18:00"]}}
    spaces:
      - name: Salle
        kind: room
        rules: {max_duration: 120}
        resources:
          - {name: Salle A, kind: room}
"""


def test_trilport_site_is_valid() -> None:
    site, problems = check_site_file(TRILPORT)
    assert problems == []
    assert site is not None
    kinds = {space.kind.value for _path, space, _parent in site.walk()}
    assert {"building", "municipal_floor", "workshop_hall", "visio_room", "coworking", "fablab"} <= kinds
    desks = [r for _p, s, _q in site.walk() for r in s.resources if r.kind.value == "desk"]
    printers = [r for _p, s, _q in site.walk() for r in s.resources if r.printer is not None]
    assert len(desks) == 12 and len(printers) == 3
    hall = next(s for _p, s, _q in site.walk() if s.kind.value == "workshop_hall")
    assert hall.capacity == 50


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (MINIMAL.replace("max_duration: 120", "max_duration: long"), "spaces[0].spaces[0].rules.max_duration"),
        (MINIMAL.replace("max_duration: 120", "max_durration: 120"), "spaces[0].spaces[0].rules.max_durration"),
        (MINIMAL.replace("kind: room}", "kind: castle}"), "spaces[0].spaces[0].resources[0].kind"),
        (MINIMAL.replace('["08:00-18:00"]', '["18:00-08:00"]'), "spaces[0].rules.opening_hours"),
        (MINIMAL.replace("name: Salle\n", "name: Bâtiment\n"), "spaces[0].spaces[0].name"),
        (MINIMAL.replace("site: {name: Test}", "site: {name: Test, colour: red}"), "site.colour"),
        (MINIMAL + "extra: 1\n", "extra"),
        ("site: {name: Test}\nspaces: []\n", "spaces"),
        ("site: [unclosed\n", "(yaml)"),
    ],
)
def test_problems_name_their_location(text: str, expected: str) -> None:
    site, problems = parse_site_text(text)
    assert site is None
    paths = [p.path for p in problems]
    assert any(path.startswith(expected) for path in paths), paths
    assert all(p.line is not None for p in problems if p.path != "(root)")


def test_every_problem_is_reported_not_only_the_first() -> None:
    text = MINIMAL.replace("max_duration: 120", "max_duration: -5").replace("kind: room}", "kind: castle}")
    _site, problems = parse_site_text(text)
    assert {p.path.split(".")[-1] for p in problems} >= {"max_duration", "kind"}


def _device_problems(*devices: str) -> list[SiteProblem]:
    """The problems of MINIMAL with these devices (YAML flow mappings) in the room."""
    _site, problems = parse_site_text(MINIMAL + "    devices:\n" + "".join(f"      - {d}\n" for d in devices))
    return problems


def test_device_problems() -> None:
    problems = _device_problems(
        "{name: Porte, kind: door, bridge: tasmota, address: porte, resource: Nope}",
        "{name: Porte, kind: teleporter, bridge: tasmota, address: porte2}",
        "{name: Lecteur, kind: badge_reader, bridge: acme, address: x}",
        '{name: Bad, kind: door, bridge: tasmota, address: "a/+/b"}',
    )
    paths = {p.path for p in problems}
    assert "spaces[0].devices[1].kind" in paths
    assert "spaces[0].devices[2].bridge" in paths
    assert "spaces[0].devices[3].address" in paths


def test_device_options_are_checked_against_their_declaration_at_load() -> None:
    problems = _device_problems(
        "{name: Porte, kind: door, bridge: shelly_gen2, address: porte, options: {switch: 0}}",
        "{name: Relais, kind: door, bridge: tasmota, address: relais, options: {relay: 40}}",
        "{name: Centrale, kind: fire_panel, bridge: zigbee2mqtt, address: ci, options: {alarm_when: never}}",
        "{name: Lecteur, kind: badge_reader, bridge: esphome, address: l, options: {tag_topic: lecteurs/l/tag}}",
        "{name: Contact, kind: contact_sensor, bridge: zigbee2mqtt, address: c, options: {base_topic: z2m-fablab}}",
    )
    messages = {p.path: p.message for p in problems}
    assert "unknown option 'switch'" in messages["spaces[0].devices[0].options"]
    assert "relay" in messages["spaces[0].devices[1].options"]
    assert "alarm_when" in messages["spaces[0].devices[2].options"]
    assert set(messages) == {f"spaces[0].devices[{i}].options" for i in range(3)}


def test_unknown_resource_and_duplicate_device() -> None:
    problems = _device_problems(
        "{name: Porte, kind: door, bridge: tasmota, address: porte, resource: Nope}",
        "{name: Porte, kind: door, bridge: tasmota, address: porte2}",
    )
    messages = {p.path: p.message for p in problems}
    assert "spaces[0].devices[0].resource" in messages
    assert "duplicate device name" in messages["spaces[0].devices[1].name"]


def _counts(runtime: Runtime) -> dict[str, int]:
    with runtime.db.session() as session:
        return {model.__name__: len(session.exec(select(model)).all()) for model in (Space, Resource, Device, Printer)}


def test_load_trilport_is_idempotent(runtime: Runtime) -> None:
    site, problems = check_site_file(TRILPORT)
    assert site is not None and problems == []
    with runtime.db.session() as session:
        first = load_site(session, runtime.secrets, site)
        session.commit()
    assert first.created["space"] >= 9 and first.created["resource"] >= 20
    before = _counts(runtime)
    with runtime.db.session() as session:
        second = load_site(session, runtime.secrets, site)
        session.commit()
    assert not second.changed, second.summary()
    assert _counts(runtime) == before


def test_edited_file_updates_in_place(runtime: Runtime) -> None:
    site, _ = parse_site_text(MINIMAL)
    assert site is not None
    with runtime.db.session() as session:
        load_site(session, runtime.secrets, site)
        session.commit()
        room_id = session.exec(select(Resource).where(Resource.name == "Salle A")).one().id
    edited, _ = parse_site_text(MINIMAL.replace("max_duration: 120", "max_duration: 90"))
    assert edited is not None
    with runtime.db.session() as session:
        report = load_site(session, runtime.secrets, edited)
        session.commit()
        assert report.updated["space"] == 1
        salle = session.exec(select(Space).where(Space.name == "Salle")).one()
        assert salle.rules == {"max_duration": 90}
        assert session.exec(select(Resource).where(Resource.name == "Salle A")).one().id == room_id
