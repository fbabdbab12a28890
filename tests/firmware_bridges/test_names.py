"""One vocabulary: the bridge names and device kinds the app accepts are the device layer's own."""

from __future__ import annotations

from devices.model import DeviceKind
from firmware_bridges import BRIDGES
from firmware_bridges.names import BridgeName
from tierslieu.api.schemas.devices import DeviceCreate
from tierslieu.models import BRIDGE_NAMES, DEVICE_KINDS
from tierslieu.site.schema import DeviceSpec


def test_the_registry_and_the_bridge_names_agree() -> None:
    assert sorted(BRIDGES) == sorted(BridgeName)
    assert tuple(BridgeName) == BRIDGE_NAMES


def test_the_app_accepts_exactly_the_device_layer_vocabulary() -> None:
    assert tuple(DeviceKind) == DEVICE_KINDS
    for model in (DeviceCreate, DeviceSpec):
        fields = model.model_fields
        assert fields["kind"].annotation is DeviceKind
        assert fields["bridge"].annotation is BridgeName
