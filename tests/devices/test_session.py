"""The connection state machine and subscription table shared by every transport (devices.session),
exercised through the in-memory transport used by logic tests."""

from __future__ import annotations

import logging
import threading

import pytest

from devices.memory import InMemoryTransport
from devices.transport import ConnectionState, InvalidTopic, Message, PublishRejected


def state(transport: InMemoryTransport) -> ConnectionState:
    return transport.state  # a call: mypy must not narrow it across the transport's changes


class Recorder:
    """A message handler that records what it hears."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, bytes, bool]] = []

    def __call__(self, topic: str, payload: bytes, retained: bool) -> None:
        self.heard.append((topic, payload, retained))

    @property
    def topics(self) -> list[str]:
        return [topic for topic, _, _ in self.heard]


# -- the state machine --------------------------------------------------------------------


def test_a_connection_goes_connecting_subscribing_ready_and_holds_publishes_until_the_suback() -> None:
    transport = InMemoryTransport(auto_connect=False, auto_acknowledge=False)
    heard, states = Recorder(), list[bool]()
    transport.add_connection_listener(states.append)
    transport.subscribe("door/#", heard)
    assert state(transport) is ConnectionState.STOPPED

    transport.start()
    assert state(transport) is ConnectionState.CONNECTING
    transport.publish("door/1", b"unlock")
    transport.publish("door/2", b"status", qos=0)  # at most once: dropped while not READY
    assert (transport.held_count, transport.subscriptions) == (1, {})

    transport.restore_connection()  # the broker accepted us: our filters go out again
    assert state(transport) is ConnectionState.SUBSCRIBING
    assert transport.subscriptions == {"door/#": 1}
    assert transport.held_count == 1 and heard.heard == [] and states == []

    transport.acknowledge_subscriptions()
    assert state(transport) is ConnectionState.READY and transport.connected
    assert heard.heard == [("door/1", b"unlock", False)] and states == [True]

    transport.drop_connection()
    assert state(transport) is ConnectionState.CONNECTING and states == [True, False]
    transport.publish("door/3", b"lock")
    transport.restore_connection()
    assert state(transport) is ConnectionState.SUBSCRIBING and heard.topics == ["door/1"]
    transport.acknowledge_subscriptions()
    assert heard.topics == ["door/1", "door/3"] and states == [True, False, True]

    transport.stop()
    assert state(transport) is ConnectionState.STOPPED and states == [True, False, True, False]


def test_without_subscriptions_the_transport_is_ready_once_connected() -> None:
    transport = InMemoryTransport(auto_acknowledge=False)
    transport.start()
    assert state(transport) is ConnectionState.READY


def test_events_that_do_not_apply_to_the_state_are_ignored() -> None:
    transport = InMemoryTransport(auto_connect=False, auto_acknowledge=False)
    transport.subscribe("a/#", Recorder())
    transport.restore_connection()  # not started: no connection to restore
    transport.drop_connection()
    transport.stop()
    assert state(transport) is ConnectionState.STOPPED and transport.subscriptions == {}
    transport.start()
    transport.start()  # twice: still one connection attempt
    transport.acknowledge_subscriptions()  # a SUBACK we never asked for
    assert state(transport) is ConnectionState.CONNECTING
    transport.restore_connection()
    transport.drop_connection()  # the SUBACK on its way is lost with the connection
    transport.acknowledge_subscriptions()
    assert state(transport) is ConnectionState.CONNECTING


def test_held_messages_go_out_in_order_and_a_full_queue_rejects() -> None:
    transport = InMemoryTransport(auto_acknowledge=False, max_held=3)
    heard = Recorder()
    transport.subscribe("q/+", heard)
    transport.start()
    for number in range(3):
        transport.publish(f"q/{number}", b"")
    with pytest.raises(PublishRejected) as rejected:
        transport.publish("q/9", b"")
    assert rejected.value.code == "publish.queue_full"
    transport.acknowledge_subscriptions()
    assert heard.topics == ["q/0", "q/1", "q/2"]


# -- subscriptions ------------------------------------------------------------------------


def test_each_message_reaches_only_the_handlers_whose_filter_matches() -> None:
    transport = InMemoryTransport()
    doors, sensors, everything = Recorder(), Recorder(), Recorder()
    transport.subscribe("cmnd/+/POWER1", doors)
    transport.subscribe("tele/+/SENSOR", sensors)
    transport.subscribe("#", everything)
    transport.start()
    transport.publish("cmnd/porte/POWER1", b"ON")
    transport.publish("tele/lecteur/SENSOR", b"{}")
    transport.publish("stat/porte/RESULT", b"{}")
    assert doors.topics == ["cmnd/porte/POWER1"]
    assert sensors.topics == ["tele/lecteur/SENSOR"]
    assert everything.topics == ["cmnd/porte/POWER1", "tele/lecteur/SENSOR", "stat/porte/RESULT"]


def test_the_broker_is_unsubscribed_only_when_the_last_listener_of_a_filter_leaves() -> None:
    transport = InMemoryTransport()
    first, second = Recorder(), Recorder()
    transport.start()
    leave_first = transport.subscribe("room/+/occupancy", first)
    leave_second = transport.subscribe("room/+/occupancy", second, qos=0)
    assert transport.subscriptions == {"room/+/occupancy": 1}  # the highest QoS asked
    leave_first()
    leave_first()  # idempotent: must not take the second listener's place away
    assert transport.subscriptions == {"room/+/occupancy": 1}
    transport.publish("room/1/occupancy", b"true")
    assert (first.heard, second.topics) == ([], ["room/1/occupancy"])
    leave_second()
    assert transport.subscriptions == {}
    transport.publish("room/1/occupancy", b"false")
    assert second.topics == ["room/1/occupancy"]


def test_one_handler_twice_on_a_filter_is_two_references_and_hears_each_message_once() -> None:
    transport = InMemoryTransport()
    heard = Recorder()
    transport.start()
    leave = transport.subscribe("a/b", heard)
    transport.subscribe("a/b", heard)
    transport.subscribe("a/+", heard)
    transport.publish("a/b", b"1")
    leave()
    assert "a/b" in transport.subscriptions
    transport.publish("a/b", b"2")
    assert heard.heard == [("a/b", b"1", False), ("a/b", b"2", False)]


def test_a_bound_method_subscribed_on_overlapping_filters_hears_each_message_once() -> None:
    class Hub:
        def __init__(self) -> None:
            self.heard: list[str] = []

        def on_message(self, topic: str, payload: bytes, retained: bool) -> None:
            self.heard.append(topic)

    hub = Hub()
    transport = InMemoryTransport()
    transport.subscribe("zigbee2mqtt/#", hub.on_message)  # a new bound-method object each time
    transport.subscribe("zigbee2mqtt/+", hub.on_message)
    transport.start()
    transport.publish("zigbee2mqtt/porte", b"{}")
    assert hub.heard == ["zigbee2mqtt/porte"]


def test_a_new_listener_of_a_subscribed_filter_gets_the_retained_messages() -> None:
    transport = InMemoryTransport()
    transport.start()
    transport.publish("tierslieu/app/status", b"online", retain=True)
    first, second = Recorder(), Recorder()
    transport.subscribe("tierslieu/+/status", first)
    transport.subscribe("tierslieu/+/status", second)
    # As from a real broker: the SUBSCRIBE for the newcomer replays them to every listener.
    assert second.heard == [("tierslieu/app/status", b"online", True)]
    assert first.heard == [("tierslieu/app/status", b"online", True)] * 2


def test_a_filter_released_while_offline_is_unsubscribed_on_reconnection() -> None:
    transport = InMemoryTransport()
    heard = Recorder()
    leave = transport.subscribe("badge/#", heard)
    transport.subscribe("door/#", heard)
    transport.start()
    transport.drop_connection()
    leave()
    assert "badge/#" in transport.subscriptions  # a persistent session keeps it on the broker
    transport.restore_connection()
    assert transport.subscriptions == {"door/#": 1}


def test_a_filter_subscribed_while_subscribing_is_sent_at_once() -> None:
    transport = InMemoryTransport(auto_acknowledge=False)
    transport.subscribe("a/#", Recorder())
    transport.start()
    assert state(transport) is ConnectionState.SUBSCRIBING
    transport.subscribe("b/#", Recorder())
    assert set(transport.subscriptions) == {"a/#", "b/#"}


def test_invalid_filters_are_refused_before_anything_changes() -> None:
    transport = InMemoryTransport()
    transport.start()
    with pytest.raises(InvalidTopic):
        transport.subscribe("a/#/b", Recorder())
    assert transport.subscriptions == {}


def test_a_connection_listener_can_leave() -> None:
    transport = InMemoryTransport()
    states: list[bool] = []
    leave = transport.add_connection_listener(states.append)
    transport.start()
    leave()
    transport.drop_connection()
    assert states == [True]


def test_concurrent_subscribers_keep_the_counts_right() -> None:
    transport = InMemoryTransport()
    transport.start()
    keeper = Recorder()
    transport.subscribe("shared/#", keeper)

    def churn() -> None:
        for _ in range(200):
            leave = transport.subscribe("shared/#", Recorder())
            transport.publish("shared/x", b"")
            leave()

    threads = [threading.Thread(target=churn) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert transport.subscriptions == {"shared/#": 1}
    assert len(keeper.heard) == 800


# -- delivery -----------------------------------------------------------------------------


def test_delivers_only_subscribed_topics_synchronously() -> None:
    transport = InMemoryTransport()
    heard = Recorder()
    transport.start()
    transport.subscribe("tele/+/SENSOR", heard)
    transport.publish("tele/plug/SENSOR", b"{}")
    transport.publish("tele/plug/STATE", b"{}")
    assert heard.heard == [("tele/plug/SENSOR", b"{}", False)]
    assert transport.published == [Message("tele/plug/SENSOR", b"{}"), Message("tele/plug/STATE", b"{}")]


def test_unsubscribe_stops_delivery() -> None:
    transport = InMemoryTransport()
    heard = Recorder()
    transport.start()
    leave = transport.subscribe("a/b", heard)
    leave()
    transport.publish("a/b", b"1")
    assert heard.heard == []
    assert transport.subscriptions == {}


def test_retained_message_is_replayed_to_a_later_subscriber() -> None:
    transport = InMemoryTransport()
    transport.start()
    transport.publish("tierslieu/app/status", b"online", retain=True)
    transport.publish("tierslieu/app/status", b"offline", retain=True)
    heard = Recorder()
    transport.subscribe("tierslieu/+/status", heard)
    assert heard.heard == [("tierslieu/app/status", b"offline", True)]


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

    heard = Recorder()
    transport.subscribe("#", broken)
    transport.subscribe("#", heard)
    transport.start()
    with caplog.at_level(logging.ERROR, logger="devices.memory"):
        transport.publish("a/b", b"1")
        transport.publish("a/c", b"2")
    assert heard.topics == ["a/b", "a/c"]
    assert sum("garbage payload" in (r.exc_text or "") for r in caplog.records) == 2


def test_a_handler_that_publishes_sees_messages_in_order_without_recursion() -> None:
    transport = InMemoryTransport()
    order: list[str] = []

    def echo(topic: str, payload: bytes, retained: bool) -> None:
        order.append(topic)
        if topic == "cmd/unlock":
            transport.publish("state/lock", b"UNLOCKED")
            order.append("after publish")

    transport.subscribe("#", echo)
    transport.start()
    transport.publish("cmd/unlock", b"1")
    assert order == ["cmd/unlock", "after publish", "state/lock"]


def test_qos1_published_while_disconnected_arrives_on_reconnect() -> None:
    transport = InMemoryTransport()
    states: list[bool] = []
    transport.add_connection_listener(states.append)
    heard = Recorder()
    transport.subscribe("door/#", heard)
    transport.start()
    transport.drop_connection()
    transport.publish("door/1", b"a", qos=1)
    transport.publish("door/2", b"b", qos=0)  # at most once: dropped while offline
    assert heard.heard == []
    transport.restore_connection()
    assert heard.heard == [("door/1", b"a", False)]
    assert states == [True, False, True]
    assert transport.connected


def test_a_raising_connection_listener_is_contained(caplog: pytest.LogCaptureFixture) -> None:
    transport = InMemoryTransport()

    def broken(connected: bool) -> None:
        raise RuntimeError("listener bug")

    states: list[bool] = []
    transport.add_connection_listener(broken)
    transport.add_connection_listener(states.append)
    with caplog.at_level(logging.ERROR, logger="devices.memory"):
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
