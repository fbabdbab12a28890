"""Topic filter rules and the in-memory transport used by logic tests."""

from __future__ import annotations

import logging

import pytest

from devices.transport import (
    InMemoryTransport,
    InvalidTopic,
    Message,
    PublishRejected,
    topic_matches,
    validate_topic,
    validate_topic_filter,
)
from tierslieu.i18n import render

Received = list[tuple[str, bytes, bool]]


@pytest.mark.parametrize(
    ("topic_filter", "topic", "expected"),
    [
        ("zigbee2mqtt/door", "zigbee2mqtt/door", True),
        ("zigbee2mqtt/door", "zigbee2mqtt/door2", False),
        ("zigbee2mqtt/+", "zigbee2mqtt/door", True),
        ("zigbee2mqtt/+", "zigbee2mqtt/door/availability", False),
        ("zigbee2mqtt/+/availability", "zigbee2mqtt/door/availability", True),
        ("zigbee2mqtt/#", "zigbee2mqtt/door/availability", True),
        ("zigbee2mqtt/#", "zigbee2mqtt", True),  # '#' also matches the parent level
        ("zigbee2mqtt/#", "zigbee2mqttx/door", False),
        ("#", "tele/tasmota_1/SENSOR", True),
        ("+/+/SENSOR", "tele/tasmota_1/SENSOR", True),
        ("+/+", "tele/tasmota_1/SENSOR", False),
        ("+/door", "/door", True),  # an empty level is still a level
        ("shellies/+/relay/0", "shellies/shelly1-abc/relay/0", True),
        ("shellies/+/relay/0", "shellies/shelly1-abc/relay/1", False),
        ("#", "$SYS/broker/uptime", False),  # wildcards never match $ topics at the first level
        ("+/broker/uptime", "$SYS/broker/uptime", False),
        ("$SYS/#", "$SYS/broker/uptime", True),
        ("a/b", "a/b/", False),
        ("a/b/+", "a/b/", True),
    ],
)
def test_topic_matches(topic_filter: str, topic: str, expected: bool) -> None:
    assert topic_matches(topic_filter, topic) is expected


@pytest.mark.parametrize("bad_filter", ["", "a/#/b", "a/b#", "a+/b", "a/+b", "a\x00b"])
def test_invalid_filters_are_rejected(bad_filter: str) -> None:
    with pytest.raises(InvalidTopic):
        validate_topic_filter(bad_filter)


@pytest.mark.parametrize("bad_topic", ["", "a/+", "a/#", "a\x00"])
def test_invalid_topics_are_rejected(bad_topic: str) -> None:
    with pytest.raises(InvalidTopic):
        validate_topic(bad_topic)


def _recording(transport: InMemoryTransport) -> Received:
    received: Received = []
    transport.add_handler(lambda topic, payload, retained: received.append((topic, payload, retained)))
    return received


def test_delivers_only_subscribed_topics_synchronously() -> None:
    transport = InMemoryTransport()
    received = _recording(transport)
    transport.start()
    transport.subscribe("tele/+/SENSOR")
    transport.publish("tele/plug/SENSOR", b"{}")
    transport.publish("tele/plug/STATE", b"{}")
    assert received == [("tele/plug/SENSOR", b"{}", False)]
    assert transport.published == [Message("tele/plug/SENSOR", b"{}"), Message("tele/plug/STATE", b"{}")]


def test_overlapping_subscriptions_deliver_once() -> None:
    transport = InMemoryTransport()
    received = _recording(transport)
    transport.start()
    transport.subscribe("a/#")
    transport.subscribe("a/+")
    transport.publish("a/b", b"1")
    assert received == [("a/b", b"1", False)]


def test_unsubscribe_stops_delivery() -> None:
    transport = InMemoryTransport()
    received = _recording(transport)
    transport.start()
    transport.subscribe("a/b")
    transport.unsubscribe("a/b")
    transport.publish("a/b", b"1")
    assert received == []
    assert transport.subscriptions == {}


def test_retained_message_is_replayed_to_a_later_subscriber() -> None:
    transport = InMemoryTransport()
    transport.start()
    transport.publish("tierslieu/app/status", b"online", retain=True)
    transport.publish("tierslieu/app/status", b"offline", retain=True)
    received = _recording(transport)
    transport.subscribe("tierslieu/+/status")
    assert received == [("tierslieu/app/status", b"offline", True)]


def test_empty_retained_payload_clears_the_retained_message() -> None:
    transport = InMemoryTransport()
    transport.start()
    transport.publish("a/b", b"x", retain=True)
    transport.publish("a/b", b"", retain=True)
    assert transport.retained == {}


def test_a_raising_handler_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    transport = InMemoryTransport()

    def broken(topic: str, payload: bytes, retained: bool) -> None:
        raise ValueError("garbage payload")

    transport.add_handler(broken)
    received = _recording(transport)
    transport.start()
    transport.subscribe("#")
    with caplog.at_level(logging.ERROR, logger="devices.transport"):
        transport.publish("a/b", b"1")
        transport.publish("a/c", b"2")
    assert [topic for topic, _, _ in received] == ["a/b", "a/c"]
    assert sum("garbage payload" in (r.exc_text or "") for r in caplog.records) == 2


def test_a_handler_that_publishes_sees_messages_in_order_without_recursion() -> None:
    transport = InMemoryTransport()
    order: list[str] = []

    def echo(topic: str, payload: bytes, retained: bool) -> None:
        order.append(topic)
        if topic == "cmd/unlock":
            transport.publish("state/lock", b"UNLOCKED")
            order.append("after publish")

    transport.add_handler(echo)
    transport.start()
    transport.subscribe("#")
    transport.publish("cmd/unlock", b"1")
    assert order == ["cmd/unlock", "after publish", "state/lock"]


def test_qos1_published_while_disconnected_arrives_on_reconnect() -> None:
    transport = InMemoryTransport()
    states: list[bool] = []
    transport.add_connection_listener(states.append)
    received = _recording(transport)
    transport.subscribe("door/#")
    transport.start()
    transport.drop_connection()
    transport.publish("door/1", b"a", qos=1)
    transport.publish("door/2", b"b", qos=0)  # at most once: dropped while offline
    assert received == []
    transport.restore_connection()
    assert received == [("door/1", b"a", False)]
    assert states == [True, False, True]
    assert transport.connected


def test_a_raising_connection_listener_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    transport = InMemoryTransport()

    def broken(connected: bool) -> None:
        raise RuntimeError("listener bug")

    states: list[bool] = []
    transport.add_connection_listener(broken)
    transport.add_connection_listener(states.append)
    with caplog.at_level(logging.ERROR, logger="devices.transport"):
        transport.start()
    assert states == [True]
    assert any("listener bug" in (r.exc_text or "") for r in caplog.records)


def test_publish_rejects_bad_topics_and_qos() -> None:
    transport = InMemoryTransport()
    with pytest.raises(InvalidTopic):
        transport.publish("a/+", b"")
    with pytest.raises(PublishRejected) as rejected:
        transport.publish("a", b"", qos=3)
    assert rejected.value.code == "publish.bad_qos"
    assert transport.published == []


def test_errors_carry_a_code_and_french_and_english_messages() -> None:
    with pytest.raises(InvalidTopic) as error:
        validate_topic_filter("a/#/b")
    assert error.value.code == "topic.bad_hash"
    french = render(error.value.code, error.value.params, "fr")
    assert french == "filtre 'a/#/b' : # doit occuper tout le dernier niveau"
    assert render(error.value.code, error.value.params, "en") == "filter 'a/#/b': # must be a whole last level"
    assert str(error.value) == "topic.bad_hash (topic='a/#/b')"
