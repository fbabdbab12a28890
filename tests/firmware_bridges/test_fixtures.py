"""Table-driven: every recorded payload and command in tests/fixtures/<firmware>/ (pure, fast)."""

from __future__ import annotations

import pytest

from devices.errors import PayloadError, UnsupportedCommand
from tests.firmware_bridges.cases import COMMAND_CASES, EVENT_CASES, TEST_BRIDGES, CommandCase, EventCase
from tierslieu.i18n import render


@pytest.mark.parametrize("case", EVENT_CASES, ids=[case.id for case in EVENT_CASES])
def test_incoming_payload(case: EventCase) -> None:
    bridge = TEST_BRIDGES[case.device.bridge]
    assert bridge.match(case.topic) == case.match
    if case.error is not None:
        with pytest.raises(PayloadError) as raised:
            bridge.parse(case.device, case.topic, case.payload)
        assert raised.value.code == case.error
        french, english = (render(raised.value.code, raised.value.params, lang) for lang in ("fr", "en"))
        assert french and english and english != french
    else:
        assert bridge.parse(case.device, case.topic, case.payload) == case.events


@pytest.mark.parametrize("case", COMMAND_CASES, ids=[case.id for case in COMMAND_CASES])
def test_outgoing_command(case: CommandCase) -> None:
    bridge = TEST_BRIDGES[case.device.bridge]
    if case.error is not None:
        with pytest.raises(UnsupportedCommand) as raised:
            bridge.encode(case.device, case.command)
        assert raised.value.code == case.error
    else:
        assert bridge.encode(case.device, case.command) == case.messages
