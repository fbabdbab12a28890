"""The site description format, and the checker that reports every problem with its location.

site: {name, slug?, timezone, locale?, siret?, address?, phone?, emails?, …}   # see tierslieu.site.profile
spaces:                       # nested: building → floors → rooms
  - name, kind, capacity?, description?, rules?
    resources: [{name, kind, capacity?, rules?, printer?: {octoprint_url, api_key | api_key_env, mqtt_base_topic?}}]
    devices:   [{name, kind, bridge, address, resource?, options?}]
    spaces:    [... children ...]
programme?: {weeks_ahead?, workshops: [...]}   # see tierslieu/site/programme.py

Several places in one deployment: ``sites:``, a list whose items have exactly the shape above
(``- site: {...}``, ``spaces: [...]``, ``programme: {...}``). Names of spaces, resources, devices
and printers are unique across the whole file (badges and bookings name them).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from yaml.nodes import MappingNode, Node, SequenceNode

from devices.errors import DeviceConfigError
from devices.model import DeviceKind, DeviceRef
from firmware_bridges import get_bridge
from firmware_bridges.names import BridgeName
from tierslieu.booking.rules import BookingRules
from tierslieu.i18n import render
from tierslieu.models.enums import ResourceKind, SpaceKind
from tierslieu.printing.plugin import base_topic_problem
from tierslieu.site.base import Strict
from tierslieu.site.profile import PublicProfile
from tierslieu.site.programme import ProgrammeSpec, programme_problems
from tierslieu.text import CONTROL_CHARACTERS, SLUG_PATTERN, slugify


def _one_line(value: str) -> str:
    if CONTROL_CHARACTERS.search(value):
        raise ValueError("un nom ne peut pas contenir de saut de ligne ni de caractère de contrôle")
    return value


Name = Annotated[str, AfterValidator(_one_line)]


class PrinterSpec(Strict):
    octoprint_url: str = Field(pattern=r"^https?://\S+$")
    api_key: str | None = None
    api_key_env: str | None = Field(default=None, description="environment variable holding the key")
    mqtt_base_topic: str | None = Field(default=None, description="the OctoPrint-MQTT plugin's base topic")

    @field_validator("mqtt_base_topic")
    @classmethod
    def _plugin_base_topic(cls, value: str | None) -> str | None:
        problem = base_topic_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(problem)
        return value

    def resolved_api_key(self) -> str | None:
        if self.api_key:
            return self.api_key
        return os.environ.get(self.api_key_env) if self.api_key_env else None


class ResourceSpec(Strict):
    name: Name = Field(min_length=1, max_length=120)
    kind: ResourceKind
    capacity: int | None = Field(default=None, ge=0)
    rules: BookingRules = Field(default_factory=BookingRules)
    printer: PrinterSpec | None = None


class DeviceSpec(Strict):
    name: Name = Field(min_length=1, max_length=120)
    kind: DeviceKind
    bridge: BridgeName
    address: str = Field(min_length=1, max_length=200, pattern=r"^[^+#\x00]+$")
    resource: Name | None = None
    options: dict[str, Any] = Field(default_factory=dict)


class SpaceSpec(Strict):
    name: Name = Field(min_length=1, max_length=120)
    kind: SpaceKind
    capacity: int | None = Field(default=None, ge=0)
    description: str = ""
    rules: BookingRules = Field(default_factory=BookingRules)
    resources: list[ResourceSpec] = Field(default_factory=list)
    devices: list[DeviceSpec] = Field(default_factory=list)
    spaces: list[SpaceSpec] = Field(default_factory=list)


class SiteInfo(PublicProfile):
    """``site:`` — its name, timezone and language, and its public description (optional)."""

    name: str = Field(min_length=1, max_length=200)
    # The site in URLs (the kiosk's, the web app's switcher); by default made from the name.
    slug: str | None = Field(default=None, max_length=64, pattern=SLUG_PATTERN)
    timezone: str = "Europe/Paris"
    locale: Literal["fr", "en"] = "fr"

    @property
    def resolved_slug(self) -> str:
        return self.slug or slugify(self.name)

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(value)
        except Exception as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value


class SiteEntry(Strict):
    """One place: its description, its spaces and its programme."""

    site: SiteInfo
    spaces: list[SpaceSpec] = Field(min_length=1)
    programme: ProgrammeSpec | None = None


class SiteFile(Strict):
    """A single site (``site``, ``spaces``, ``programme``) or several (``sites``)."""

    site: SiteInfo | None = None
    spaces: list[SpaceSpec] | None = Field(default=None, min_length=1)
    programme: ProgrammeSpec | None = None
    sites: list[SiteEntry] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_form(self) -> SiteFile:
        single = self.site is not None or self.spaces is not None or self.programme is not None
        if self.sites is not None and single:
            raise ValueError("either 'sites' or 'site' and 'spaces', not both")
        if self.sites is None and (self.site is None or not self.spaces):
            raise ValueError("the file needs 'site' and 'spaces' (or a list of 'sites')")
        return self

    def entries(self) -> list[tuple[str, SiteEntry]]:
        """Each place with the path its spaces start from (``""`` or ``sites[1].``)."""
        if self.sites is not None:
            return [(f"sites[{i}].", entry) for i, entry in enumerate(self.sites)]
        assert self.site is not None and self.spaces is not None  # _one_form
        return [("", SiteEntry(site=self.site, spaces=self.spaces, programme=self.programme))]

    def walk(self) -> Iterator[tuple[str, SpaceSpec, SpaceSpec | None]]:
        """Every space of every site with its path (``spaces[0].spaces[2]``) and parent, parents first."""
        for prefix, entry in self.entries():
            yield from walk_spaces(entry.spaces, prefix)


def walk_spaces(
    items: list[SpaceSpec], prefix: str = "", parent: SpaceSpec | None = None
) -> Iterator[tuple[str, SpaceSpec, SpaceSpec | None]]:
    for i, space in enumerate(items):
        path = f"{prefix}spaces[{i}]"
        yield path, space, parent
        yield from walk_spaces(space.spaces, path + ".", space)


@dataclass(frozen=True)
class SiteProblem:
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.path}: {self.message}"


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _line_index(node: Node | None, path: str = "", index: dict[str, int] | None = None) -> dict[str, int]:
    """Map each YAML path to its 1-based line, so problems can point into the file."""
    index = {} if index is None else index
    if node is None:
        return index
    index.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            sub = f"{path}.{key.value}" if path else str(key.value)
            index[sub] = key.start_mark.line + 1
            _line_index(value, sub, index)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _line_index(item, f"{path}[{i}]", index)
    return index


def _line_for(index: dict[str, int], path: str) -> int | None:
    while path:
        if path in index:
            return index[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _device_problems(device: DeviceSpec, path: str) -> list[SiteProblem]:
    """The bridge's own checks: declared option names and values, address shape."""
    ref = DeviceRef(0, device.name, DeviceKind(device.kind.value), device.bridge.value, device.address, device.options)
    bridge = get_bridge(device.bridge.value)
    try:
        bridge.check_option_names(ref)
        bridge.validate_device(ref)
    except DeviceConfigError as error:
        return [SiteProblem(f"{path}.options", render(error.code, error.params, "en"))]
    return []


def _semantic_problems(site: SiteFile) -> list[SiteProblem]:
    problems: list[SiteProblem] = []
    seen: dict[str, dict[str, str]] = {
        "space": {},
        "resource": {},
        "device": {},
        "printer": {},
        "site": {},
        "site slug": {},
        "workshop": {},
    }

    def claim(kind: str, name: str, path: str) -> None:
        if name in seen[kind]:
            problems.append(SiteProblem(path, f"duplicate {kind} name {name!r} (first at {seen[kind][name]})"))
        else:
            seen[kind][name] = path

    resources_by_space: dict[str, set[str]] = {}
    for path, space, _parent in site.walk():
        claim("space", space.name, f"{path}.name")
        names = resources_by_space.setdefault(space.name, set())
        for r_i, resource in enumerate(space.resources):
            r_path = f"{path}.resources[{r_i}]"
            claim("resource", resource.name, f"{r_path}.name")
            names.add(resource.name)
            if resource.printer is not None and resource.kind != ResourceKind.printer:
                problems.append(SiteProblem(f"{r_path}.printer", "only a resource of kind 'printer' has a printer"))
    for path, space, _parent in site.walk():
        for d_i, device in enumerate(space.devices):
            d_path = f"{path}.devices[{d_i}]"
            claim("device", device.name, f"{d_path}.name")
            supported = {str(k) for k in get_bridge(device.bridge.value).kinds}
            if device.kind.value not in supported:
                problems.append(
                    SiteProblem(
                        f"{d_path}.kind", f"the {device.bridge.value} bridge does not support {device.kind.value}"
                    )
                )
            else:
                problems.extend(_device_problems(device, d_path))
            if device.resource is not None and device.resource not in resources_by_space.get(space.name, set()):
                problems.append(
                    SiteProblem(f"{d_path}.resource", f"no resource named {device.resource!r} in space {space.name!r}")
                )
            watches = device.options.get("contact_sensor")
            if watches is not None and not any(d.name == watches for _p, s, _q in site.walk() for d in s.devices):
                problems.append(SiteProblem(f"{d_path}.options.contact_sensor", f"no device named {watches!r}"))
    for prefix, entry in site.entries():
        claim("site", entry.site.name, f"{prefix}site.name")
        claim("site slug", entry.site.resolved_slug, f"{prefix}site.slug")
        if entry.programme is not None:
            # A site's programme books only its own rooms and printers.
            own = {r.name: r.kind for _p, s, _q in walk_spaces(entry.spaces) for r in s.resources}
            problems += [
                SiteProblem(f"{prefix}{path}", message) for path, message in programme_problems(entry.programme, own)
            ]
            # Titles name workshops across the deployment (a title twice in one site is reported above).
            for title in dict.fromkeys(workshop.title for workshop in entry.programme.workshops):
                w_i = next(i for i, w in enumerate(entry.programme.workshops) if w.title == title)
                claim("workshop", title, f"{prefix}programme.workshops[{w_i}].title")
    return problems


def parse_site_text(text: str) -> tuple[SiteFile | None, list[SiteProblem]]:
    """Parse and check a site description; returns the model (if valid) and every problem found."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [SiteProblem("(yaml)", f"not valid YAML: {getattr(exc, 'problem', exc)}", line)]
    index = _line_index(node)
    if not isinstance(data, dict):
        return None, [SiteProblem("(root)", "the file must be a mapping with 'site' and 'spaces', or 'sites'", 1)]
    try:
        site = SiteFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            path = _format_loc(err["loc"])
            problems.append(SiteProblem(path or "(root)", err["msg"], _line_for(index, path)))
        return None, problems
    problems = [SiteProblem(p.path, p.message, _line_for(index, p.path)) for p in _semantic_problems(site)]
    return (site if not problems else None), problems


def check_site_file(path: Path) -> tuple[SiteFile | None, list[SiteProblem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [SiteProblem("(file)", f"cannot read {path}: {exc}")]
    return parse_site_text(text)
