"""The seam's rules: topics and filters (checked against paho's own matcher), the connection
states and their transitions, and the transport errors."""

from __future__ import annotations

import random

import pytest
from paho.mqtt.client import topic_matches_sub

from devices.transport import (
    TRANSITIONS,
    ConnectionState,
    InvalidTopic,
    topic_matches,
    validate_topic,
    validate_topic_filter,
)
from tierslieu.i18n import render


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
    # Ours runs on every message without building a trie each time; it must agree with paho's.
    assert topic_matches_sub(topic_filter, topic) is expected


def test_topic_matches_agrees_with_paho_on_random_filters() -> None:
    rng = random.Random(9)
    levels = ["a", "b", "", "$SYS", "+", "#"]
    for _ in range(5000):
        topic_filter = "/".join(rng.choice(levels) for _ in range(rng.randint(1, 4)))
        topic = "/".join(rng.choice(levels[:4]) for _ in range(rng.randint(1, 4)))
        if not topic_filter or not topic or "#" in topic_filter[:-1]:
            continue  # not a filter ("#" must be the last level), or not a topic
        validate_topic_filter(topic_filter)
        validate_topic(topic)
        assert topic_matches(topic_filter, topic) is topic_matches_sub(topic_filter, topic), (topic_filter, topic)


@pytest.mark.parametrize("bad_filter", ["", "a/#/b", "a/b#", "a+/b", "a/+b", "a\x00b"])
def test_invalid_filters_are_rejected(bad_filter: str) -> None:
    with pytest.raises(InvalidTopic):
        validate_topic_filter(bad_filter)


@pytest.mark.parametrize("bad_topic", ["", "a/+", "a/#", "a\x00"])
def test_invalid_topics_are_rejected(bad_topic: str) -> None:
    with pytest.raises(InvalidTopic):
        validate_topic(bad_topic)


def test_transitions_are_written_once_and_lead_back_to_stopped() -> None:
    assert set(TRANSITIONS) == set(ConnectionState)
    # READY is entered only from a connection attempt; every state can reach STOPPED.
    entering_ready = {state for state, targets in TRANSITIONS.items() if ConnectionState.READY in targets}
    assert entering_ready == {ConnectionState.CONNECTING, ConnectionState.SUBSCRIBING}
    for state in ConnectionState:
        seen, frontier = {state}, [state]
        while frontier:
            for target in TRANSITIONS[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert ConnectionState.STOPPED in seen, state


def test_errors_carry_a_code_and_french_and_english_messages() -> None:
    with pytest.raises(InvalidTopic) as error:
        validate_topic_filter("a/#/b")
    assert error.value.code == "topic.bad_hash"
    french = render(error.value.code, error.value.params, "fr")
    assert french == "filtre 'a/#/b' : # doit occuper tout le dernier niveau"
    assert render(error.value.code, error.value.params, "en") == "filter 'a/#/b': # must be a whole last level"
    assert str(error.value) == "topic.bad_hash (topic='a/#/b')"
