"""PahoTransport and EmbeddedBroker against real brokers (Mosquitto started by the tests, amqtt)."""

from __future__ import annotations

import ast
import dataclasses
import logging
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import pytest

from devices.broker import EmbeddedBroker, EmbeddedBrokerError
from devices.mqtt import InvalidMqttUrl, MqttSettings, PahoTransport
from devices.transport import ConnectionState, PublishRejected
from tests.support.mosquitto import MosquittoServer, make_tls_files
from tests.support.mqtt import Inbox, Received
from tests.support.ports import free_port
from tests.support.waiting import eventually
from tierslieu.i18n import render

pytestmark = [pytest.mark.broker, pytest.mark.timeout(60)]

ROOT = Path(__file__).resolve().parents[2]
Connect = Callable[..., PahoTransport]


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def connect() -> Iterator[Connect]:
    """Build (and by default start) transports; all are stopped at teardown."""
    made: list[PahoTransport] = []

    def build(url: str, client_id: str, *, start: bool = True, **overrides: Any) -> PahoTransport:
        settings = MqttSettings.from_url(url, client_id=client_id)
        settings = dataclasses.replace(settings, reconnect_max_delay_s=1, **overrides)
        transport = PahoTransport(settings)
        made.append(transport)
        if start:
            transport.start()
        return transport

    yield build
    for transport in made:
        transport.stop(timeout=1)


# -- settings (pure) ---------------------------------------------------------------------


def test_settings_from_url_with_credentials_and_defaults() -> None:
    settings = MqttSettings.from_url("mqtt://fab%40lab:p%3Ass@broker.local", client_id="tierslieu-1")
    assert (settings.host, settings.port, settings.tls) == ("broker.local", 1883, False)
    assert (settings.username, settings.password) == ("fab@lab", "p:ss")
    assert settings.status_topic == "tierslieu/tierslieu-1/status"
    assert "p:ss" not in repr(settings)


def test_settings_from_mqtts_url_with_options() -> None:
    settings = MqttSettings.from_url(
        "mqtts://broker.example:9883?ca_file=/etc/ca.pem&insecure=true&protocol=3.1.1"
        "&availability_topic=site/app/status&client_id=from-query"
    )
    assert (settings.port, settings.tls, settings.insecure) == (9883, True, True)
    assert (settings.ca_file, settings.protocol, settings.client_id) == ("/etc/ca.pem", "3.1.1", "from-query")
    assert settings.status_topic == "site/app/status"
    assert MqttSettings.from_url("mqtts://broker.example").port == 8883


@pytest.mark.parametrize(
    "url",
    ["http://broker", "mqtt://", "mqtt://host:notaport", "mqtt://host?protocol=4", "mqtt://h?keepalive=x"],
)
def test_settings_reject_bad_urls(url: str) -> None:
    with pytest.raises(InvalidMqttUrl):
        MqttSettings.from_url(url)


# -- real broker -------------------------------------------------------------------------


def test_round_trip_through_the_broker(mosquitto: MosquittoServer, connect: Connect) -> None:
    topic = unique("tierslieu/test") + "/door"
    inbox = Inbox()
    subscriber = connect(mosquitto.url, unique("sub"))
    subscriber.subscribe(topic.rsplit("/", 1)[0] + "/+", inbox)
    publisher = connect(mosquitto.url, unique("pub"))
    assert subscriber.wait_connected(5) and publisher.wait_connected(5)
    # The subscription is sent on connect; wait for the retained status to prove it is active.
    subscriber.subscribe(subscriber.settings.status_topic, inbox)
    assert inbox.wait_count(1)
    publisher.publish(topic, b'{"contact": false}', qos=1)
    assert inbox.wait_for(lambda messages: (topic, b'{"contact": false}', False) in messages)
    assert publisher.flush(5) and publisher.unacknowledged_count == 0


def test_publishes_wait_for_the_subscriptions_and_come_back_in_order(
    mosquitto: MosquittoServer, connect: Connect
) -> None:
    inbox = Inbox()
    transport = connect(mosquitto.url, unique("held"), start=False)
    topic = f"tierslieu/{transport.settings.client_id}/held"
    transport.subscribe(topic, inbox)
    for number in range(50):
        transport.publish(topic, str(number).encode())
    assert transport.state is ConnectionState.STOPPED and transport.unacknowledged_count == 50
    transport.start()
    assert transport.state in (ConnectionState.CONNECTING, ConnectionState.SUBSCRIBING, ConnectionState.READY)
    # Sent only once the broker acknowledged our subscription: every one comes back to us.
    assert inbox.wait_count(50)
    assert inbox.payloads() == [str(number).encode() for number in range(50)]
    assert transport.state is ConnectionState.READY and transport.flush(5)
    transport.stop(timeout=1)
    assert transport.state is ConnectionState.STOPPED


def test_the_broker_keeps_a_filter_until_its_last_listener_leaves(mosquitto: MosquittoServer, connect: Connect) -> None:
    topic = unique("tierslieu/shared") + "/door"
    probe = unique("tierslieu/probe")
    first, second, probes = Inbox(), Inbox(), Inbox()
    subscriber = connect(mosquitto.url, unique("refcount"))
    leave_first = subscriber.subscribe(topic, first)
    leave_second = subscriber.subscribe(topic, second)
    subscriber.subscribe(probe, probes)
    publisher = connect(mosquitto.url, unique("pub"))
    assert subscriber.wait_connected(5) and publisher.wait_connected(5)

    def round_trip(payload: bytes) -> None:
        # Our own probe comes back after the broker handled what we sent before it (in order on
        # one connection); the publisher's probe after what the publisher sent before it.
        subscriber.publish(probe, b"sync-" + payload)
        assert probes.wait_for(lambda m: (probe, b"sync-" + payload, False) in m)
        publisher.publish(topic, payload)
        publisher.publish(probe, payload)
        assert probes.wait_for(lambda m: (probe, payload, False) in m)

    round_trip(b"both")
    leave_first()
    round_trip(b"second only")
    leave_second()
    round_trip(b"nobody")
    assert first.payloads() == [b"both"]
    assert second.payloads() == [b"both", b"second only"]


def test_no_private_paho_attribute_is_used() -> None:
    """Only our own objects (`self._...`) may be reached through a private name."""
    tree = ast.parse((ROOT / "devices" / "mqtt.py").read_text())
    private = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private == []


def test_tcp_nodelay_is_set_on_the_socket(mosquitto: MosquittoServer, connect: Connect) -> None:
    transport = connect(mosquitto.url, unique("nodelay"))
    assert transport.wait_connected(5)
    sock = transport._client.socket()
    assert isinstance(sock, socket.socket)
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_raising_handler_does_not_stop_the_network_thread(
    mosquitto: MosquittoServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    topic = unique("tierslieu/test")
    inbox = Inbox()

    def broken(topic: str, payload: bytes, retained: bool) -> None:
        if payload == b"garbage":
            raise ValueError("unparseable payload")

    transport = connect(mosquitto.url, unique("handler"))
    transport.subscribe(topic, broken)
    transport.subscribe(topic, inbox)
    assert transport.wait_connected(5)
    with caplog.at_level(logging.ERROR, logger="devices.mqtt"):
        transport.publish(topic, b"garbage")
        transport.publish(topic, b"fine")
        assert inbox.wait_for(lambda messages: len(messages) == 2)
    assert inbox.payloads() == [b"garbage", b"fine"]
    assert any("unparseable payload" in (record.exc_text or "") for record in caplog.records)


def test_availability_online_retained_and_offline_on_clean_stop(mosquitto: MosquittoServer, connect: Connect) -> None:
    client_id = unique("avail")
    app = connect(mosquitto.url, client_id)
    assert app.wait_connected(5)
    observer_inbox = Inbox()
    observer = connect(mosquitto.url, unique("observer"))
    observer.subscribe(f"tierslieu/{client_id}/status", observer_inbox)
    assert observer_inbox.wait_for(lambda m: (f"tierslieu/{client_id}/status", b"online", True) in m)
    app.stop()
    assert observer_inbox.wait_for(lambda m: m[-1][1] == b"offline")
    assert not app.connected


def test_last_will_offline_when_the_process_dies(mosquitto: MosquittoServer, connect: Connect) -> None:
    client_id = unique("doomed")
    status_topic = f"tierslieu/{client_id}/status"
    inbox = Inbox()
    observer = connect(mosquitto.url, unique("observer"))
    observer.subscribe(status_topic, inbox)
    assert observer.wait_connected(5)
    script = (
        "import sys, time\n"
        "from devices.mqtt import MqttSettings, PahoTransport\n"
        "t = PahoTransport(MqttSettings.from_url(sys.argv[1], client_id=sys.argv[2]))\n"
        "t.start()\n"
        "print('ready' if t.wait_connected(10) else 'failed', flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script, mosquitto.url, client_id], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        assert inbox.wait_for(lambda m: bool(m) and m[-1][1] == b"online")
    finally:
        child.kill()  # no DISCONNECT packet: the broker must publish the will
        child.wait()
    assert inbox.wait_for(lambda m: m[-1] == (status_topic, b"offline", False))


def test_resubscribes_after_the_broker_lost_everything(
    private_mosquitto: MosquittoServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    states: list[bool] = []
    inbox = Inbox()
    subscriber = connect(private_mosquitto.url, "resubscriber", start=False)
    subscriber.add_connection_listener(states.append)
    subscriber.subscribe("fablab/printer/#", inbox)
    # On connect the transport subscribes, then publishes `online`: seeing our own `online`
    # come back proves the broker holds our subscriptions.
    subscriber.subscribe(subscriber.settings.status_topic, inbox)
    subscriber.start()

    def online(messages: Received) -> int:
        return sum(payload == b"online" for _, payload, _ in messages)

    assert inbox.wait_for(lambda m: online(m) == 1)
    with caplog.at_level(logging.WARNING, logger="devices.mqtt"):
        private_mosquitto.kill()  # SIGKILL: no session saved, the new broker knows nothing of us
        private_mosquitto.start()
        assert inbox.wait_for(lambda m: online(m) == 2)
    assert any("no longer had our session" in record.getMessage() for record in caplog.records)
    publisher = connect(private_mosquitto.url, "publisher")
    assert publisher.wait_connected(5)
    publisher.publish("fablab/printer/1", b"printing")
    assert inbox.wait_for(lambda m: ("fablab/printer/1", b"printing", False) in m)
    assert eventually(lambda: states == [True, False, True])


def test_persistent_session_receives_every_message_sent_while_away(
    private_mosquitto: MosquittoServer, connect: Connect
) -> None:
    inbox = Inbox()
    away = connect(private_mosquitto.url, "door-controller")
    away.subscribe("access/badges/#", lambda topic, payload, retained: None, qos=1)
    assert away.wait_connected(5)
    # The broker has confirmed our subscription once our own retained status comes back.
    away.subscribe(away.settings.status_topic, inbox)
    assert inbox.wait_count(1)
    away.stop()

    publisher = connect(private_mosquitto.url, "badge-reader")
    assert publisher.wait_connected(5)
    for number in range(200):
        publisher.publish(f"access/badges/{number % 3}", str(number).encode(), qos=1)
    assert publisher.flush(10)
    private_mosquitto.restart()  # graceful: mosquitto writes the queued messages to disk

    inbox = Inbox()
    back = connect(private_mosquitto.url, "door-controller", start=False)
    back.subscribe("access/badges/#", inbox, qos=1)
    back.start()

    def badges(messages: Received) -> list[bytes]:
        return [payload for topic, payload, _ in messages if topic.startswith("access/badges/")]

    assert inbox.wait_for(lambda m: len(badges(m)) >= 200, timeout=15), len(badges(inbox.messages))
    # QoS 1 allows duplicates, never losses.
    assert set(badges(inbox.messages)) == {str(number).encode() for number in range(200)}


def test_messages_published_while_the_broker_is_down_are_delivered(
    private_mosquitto: MosquittoServer, connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = Inbox()
    subscriber = connect(private_mosquitto.url, "occupancy-view")
    subscriber.subscribe("rooms/+/occupancy", inbox, qos=1)
    publisher = connect(private_mosquitto.url, "sensor-gateway")
    assert subscriber.wait_connected(5) and publisher.wait_connected(5)
    subscriber.subscribe(subscriber.settings.status_topic, inbox)
    assert inbox.wait_count(1)

    private_mosquitto.stop()
    assert publisher.wait_disconnected(5)
    assert publisher.state is ConnectionState.CONNECTING  # reconnecting with back-off
    with caplog.at_level(logging.INFO, logger="devices.mqtt"):
        for number in range(50):
            publisher.publish(f"rooms/{number}/occupancy", b"true", qos=1)
    assert publisher.unacknowledged_count == 50
    assert any("queued until the broker is back" in record.getMessage() for record in caplog.records)
    private_mosquitto.start()

    def occupancy(messages: Received) -> set[str]:
        return {topic for topic, _, _ in messages if topic.endswith("/occupancy")}

    assert inbox.wait_for(lambda m: len(occupancy(m)) == 50, timeout=15)
    assert publisher.flush(5)


def test_start_with_the_broker_down_connects_when_it_comes_up(
    mosquitto_factory: Callable[..., MosquittoServer], connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    server = mosquitto_factory(start=False)
    states: list[bool] = []
    with caplog.at_level(logging.WARNING, logger="devices.mqtt"):
        transport = connect(server.url, "early-bird", start=False)
        transport.add_connection_listener(states.append)
        transport.start()  # must not raise
        assert not transport.wait_connected(1.2)
    assert transport.last_error == "broker unreachable"
    assert any("unreachable" in record.getMessage() for record in caplog.records)
    server.start()
    assert transport.wait_connected(10)
    assert eventually(lambda: states == [True])
    assert transport.last_error is None
    assert not [r for r in caplog.records if r.name == "devices.mqtt.paho" and r.levelno >= logging.ERROR]


def test_full_offline_queue_rejects_instead_of_losing(connect: Connect) -> None:
    transport = connect(f"mqtt://127.0.0.1:{free_port()}", "lonely", max_queued_messages=5)
    for number in range(5):
        transport.publish("a/b", str(number).encode())
    with pytest.raises(PublishRejected) as rejected:
        transport.publish("a/b", b"one too many")
    assert rejected.value.code == "publish.queue_full"
    assert "5 messages" in render(rejected.value.code, rejected.value.params, "en")
    assert transport.unacknowledged_count == 5


def test_username_and_password(
    mosquitto_factory: Callable[..., MosquittoServer], connect: Connect, caplog: pytest.LogCaptureFixture
) -> None:
    server = mosquitto_factory(users={"tierslieu": "s3cret:é"}, allow_anonymous=False)
    good = connect(server.url.replace("mqtt://", "mqtt://tierslieu:s3cret%3A%C3%A9@"), "good-creds")
    with caplog.at_level(logging.ERROR, logger="devices.mqtt"):
        bad = connect(server.url.replace("mqtt://", "mqtt://tierslieu:wrong@"), "bad-creds")
        anonymous = connect(server.url, "anonymous")
        assert good.wait_connected(5)
        assert not bad.wait_connected(1.5)
        assert not anonymous.wait_connected(0.1)
    refusals = [r.getMessage() for r in caplog.records if "refused the connection" in r.getMessage()]
    assert any("'bad-creds'" in m and "check the user name and password" in m for m in refusals), refusals
    assert bad.last_error is not None and "wrong" not in bad.last_error


def test_tls_with_a_private_ca_and_insecure_mode(
    mosquitto_factory: Callable[..., MosquittoServer], connect: Connect, tmp_path: Path
) -> None:
    server = mosquitto_factory(tls=make_tls_files(tmp_path / "tls"))
    other_ca = make_tls_files(tmp_path / "other").ca_cert
    assert server.url.startswith("mqtts://")
    inbox = Inbox()
    trusted = connect(server.url, "tls-trusted")
    trusted.subscribe("tierslieu/tls/#", inbox)
    distrusted = connect(server.url.split("?")[0] + f"?ca_file={other_ca}", "tls-wrong-ca")
    insecure = connect(server.url.split("?")[0] + "?insecure=1", "tls-insecure")
    assert trusted.wait_connected(5) and insecure.wait_connected(5)
    insecure.publish("tierslieu/tls/hello", b"chiffre")
    assert inbox.wait_for(lambda m: ("tierslieu/tls/hello", b"chiffre", False) in m)
    assert eventually(lambda: distrusted.last_error == "broker unreachable or TLS handshake failed")
    assert not distrusted.connected


@pytest.mark.parametrize("prefer", ["mosquitto", "amqtt"])
def test_embedded_broker(prefer: Literal["mosquitto", "amqtt"], tmp_path: Path, connect: Connect) -> None:
    broker = EmbeddedBroker(tmp_path / "broker", prefer=prefer)
    planned = broker.planned_url()  # known before start, for clients built early
    url = broker.start()
    assert url == planned
    try:
        assert broker.kind == prefer
        assert url.startswith(f"mqtt://127.0.0.1:{broker.port}")
        inbox = Inbox()
        subscriber = connect(url, f"embedded-sub-{prefer}")
        subscriber.subscribe("tierslieu/embedded/#", inbox, qos=1)
        publisher = connect(url, f"embedded-pub-{prefer}")
        assert subscriber.wait_connected(5) and publisher.wait_connected(5)
        subscriber.subscribe(subscriber.settings.status_topic, inbox)
        assert inbox.wait_count(1)
        publisher.publish("tierslieu/embedded/hello", b"bonjour", qos=1)
        assert inbox.wait_for(lambda m: ("tierslieu/embedded/hello", b"bonjour", False) in m)
        subscriber.stop(timeout=1)
        publisher.stop(timeout=1)
    finally:
        broker.stop()
    assert broker.url is None


def test_embedded_broker_refuses_a_public_address(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedBrokerError) as refused:
        EmbeddedBroker(tmp_path, host="0.0.0.0")
    assert refused.value.code == "broker.not_loopback"
    assert "0.0.0.0" in render(refused.value.code, refused.value.params, "fr")
    assert EmbeddedBroker(tmp_path, host="localhost").host == "localhost"


@pytest.mark.parametrize("prefer", ["mosquitto", "amqtt"])
def test_embedded_broker_reports_a_port_already_taken(prefer: Literal["mosquitto", "amqtt"], tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        broker = EmbeddedBroker(tmp_path, port=port, prefer=prefer)
        with pytest.raises(EmbeddedBrokerError) as refused:
            broker.start()
    assert refused.value.code == "broker.port_taken"
    assert f"127.0.0.1:{port}" in render(refused.value.code, refused.value.params, "en")
    assert broker.url is None


@pytest.mark.exclusive  # a median round trip under 20 ms: alone on the machine
def test_the_embedded_broker_sends_small_packets_at_once(tmp_path: Path, connect: Connect) -> None:
    """A scan and its door command are small packets one after the other: with Nagle on in the
    broker, each answer waited for the previous packet's delayed ACK (~40 ms a door)."""
    broker = EmbeddedBroker(tmp_path / "broker", prefer="mosquitto")
    url = broker.start()
    try:
        answers = Inbox()
        door, reader = connect(url, unique("door")), connect(url, unique("reader"))
        door.subscribe(
            "tierslieu/test/scan", lambda _t, payload, _r: door.publish("tierslieu/test/open", payload, qos=1)
        )
        reader.subscribe("tierslieu/test/open", answers, qos=1)
        assert door.wait_connected(5) and reader.wait_connected(5)
        reader.publish("tierslieu/test/scan", b"warm-up", qos=1)  # both subscriptions in place
        assert answers.wait_count(1, 5)
        times = []
        for n in range(40):
            began = time.perf_counter()
            reader.publish("tierslieu/test/scan", str(n).encode(), qos=1)
            assert answers.wait_count(n + 2, 5)
            times.append(time.perf_counter() - began)
        median = sorted(times)[len(times) // 2]
        assert median < 0.02, f"median round trip {median * 1000:.1f} ms"
    finally:
        broker.stop()
