"""`Transport` over a real MQTT broker, with paho-mqtt 2.x. The only module that imports paho.

What it guarantees:
- a persistent session (fixed client id, MQTT 5 `clean_start=False` plus a session expiry, or
  MQTT 3.1.1 `clean_session=False`): QoS 1 messages sent to us while we are away are delivered
  when we come back, and ours are re-sent until the broker acknowledges them;
- automatic reconnection with exponential back-off, re-subscribing every filter each time;
- publishes held until the broker has acknowledged those subscriptions (see `devices.session`);
- an availability topic of its own: retained `online` on connect, `offline` on `stop()` and as
  last will when the connection dies;
- `start()` never raises because the broker is down: it logs and keeps trying;
- a handler that raises is logged and never stops the network thread.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.session import Session
from devices.transport import (
    ConnectionListener,
    ConnectionState,
    Message,
    MessageHandler,
    PublishRejected,
    TransportError,
    Unsubscribe,
    validate_topic,
)

__all__ = ["InvalidMqttUrl", "MqttSettings", "PahoTransport"]

logger = logging.getLogger(__name__)
paho_logger = logging.getLogger(f"{__name__}.paho")

ONLINE = b"online"
OFFLINE = b"offline"
PROTOCOLS = {"5": paho.MQTTv5, "3.1.1": paho.MQTTv311}
_TRUE_WORDS = {"1", "true", "yes", "on"}


class InvalidMqttUrl(TransportError, ValueError):
    """TIERSLIEU_MQTT_URL (or another broker URL) cannot be understood."""


@dataclass(frozen=True, slots=True)
class MqttSettings:
    host: str
    port: int = 1883
    client_id: str = "tierslieu"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    insecure: bool = False  # TLS without certificate or host name checks: tests and labs only
    protocol: str = "5"  # "5" or "3.1.1"
    keepalive_s: int = 30
    session_expiry_s: int = 86_400
    availability_topic: str | None = None  # default: tierslieu/<client_id>/status
    reconnect_min_delay_s: int = 1
    reconnect_max_delay_s: int = 30
    max_queued_messages: int = 10_000  # unacknowledged QoS>0 publishes kept while offline

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidMqttUrl("mqtt_url.protocol", protocol=self.protocol)
        if not self.client_id:
            raise InvalidMqttUrl("mqtt_url.client_id")

    @property
    def status_topic(self) -> str:
        return self.availability_topic or f"tierslieu/{self.client_id}/status"

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        client_id: str | None = None,
        availability_topic: str | None = None,
    ) -> MqttSettings:
        """Parse `mqtt://user:pass@host:1883` or `mqtts://host` (TLS, port 8883).

        Query options: `client_id`, `ca_file`, `insecure=1`, `protocol=3.1.1`, `keepalive`,
        `session_expiry`, `availability_topic`. Keyword arguments win over the query.
        """
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as error:
            raise InvalidMqttUrl("mqtt_url.invalid", reason=str(error)) from None
        if parts.scheme not in ("mqtt", "mqtts"):
            raise InvalidMqttUrl("mqtt_url.scheme", scheme=parts.scheme)
        if not parts.hostname:
            raise InvalidMqttUrl("mqtt_url.no_host")
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        tls = parts.scheme == "mqtts"
        try:
            keepalive = int(query.get("keepalive", 30))
            session_expiry = int(query.get("session_expiry", 86_400))
        except ValueError as error:
            raise InvalidMqttUrl("mqtt_url.invalid", reason=str(error)) from None
        return cls(
            host=parts.hostname,
            port=port or (8883 if tls else 1883),
            client_id=client_id or query.get("client_id", "tierslieu"),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            tls=tls,
            ca_file=query.get("ca_file"),
            insecure=query.get("insecure", "").lower() in _TRUE_WORDS,
            protocol=query.get("protocol", "5"),
            keepalive_s=keepalive,
            session_expiry_s=session_expiry,
            availability_topic=availability_topic or query.get("availability_topic"),
        )

    def with_client_id(self, client_id: str) -> MqttSettings:
        return replace(self, client_id=client_id)


class _PahoLink:
    """The `Link` under the session: a paho client, and the QoS>0 messages it has accepted that
    the broker has not acknowledged yet (by message id)."""

    def __init__(self, client: paho.Client, limit: int) -> None:
        self.client = client
        self._limit = limit
        self._lock = threading.Lock()
        self.sent = 0  # messages handed to paho (metrics)
        self._unacked: dict[int, str] = {}
        # Filled by on_publish, which paho calls with its own lock held and so may not wait for
        # ours; applied under our lock, where a message is always registered before its ack is.
        self._acks: deque[int] = deque()

    @property
    def unacknowledged_count(self) -> int:
        with self._lock:
            self._apply_acks()
            return len(self._unacked)

    def topic_of(self, mid: int) -> str | None:
        return self._unacked.get(mid)

    def acknowledged(self, mid: int) -> None:
        self._acks.append(mid)

    def send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        with self._lock:
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
            rc = info.rc
            self.sent += 1
            if qos > 0 and rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                self._unacked[info.mid] = topic
            self._apply_acks()
        if qos == 0:
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                logger.warning("MQTT: QoS 0 message to %s dropped (%s)", topic, paho.error_string(rc))
        elif rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            raise PublishRejected("publish.queue_full", topic=topic, limit=self._limit)
        elif rc == MQTTErrorCode.MQTT_ERR_NO_CONN:  # the connection dropped just now: paho re-sends it
            logger.info("MQTT: not connected, message to %s queued until the broker is back", topic)
        elif rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise PublishRejected("publish.failed", topic=topic, reason=paho.error_string(rc))

    def send_subscribe(self, filters: Sequence[tuple[str, int]]) -> int | None:
        rc, mid = self.client.subscribe(list(filters))
        return mid if rc == MQTTErrorCode.MQTT_ERR_SUCCESS else None

    def send_unsubscribe(self, filters: Sequence[str]) -> None:
        self.client.unsubscribe(list(filters))

    def wait_acknowledged(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.unacknowledged_count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _apply_acks(self) -> None:
        while self._acks:
            self._unacked.pop(self._acks.popleft(), None)


class PahoTransport:
    """A `devices.transport.Transport` over paho-mqtt. Nothing happens until `start()`."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self.last_error: str | None = None
        self._failures = 0  # connection attempts failed in a row, for the log
        self._has_connected = False  # to notice a broker that forgot our persistent session
        self.messages_in = 0  # messages received since start (for metrics)
        self._client = self._build_client()
        self._link = _PahoLink(self._client, settings.max_queued_messages)
        self._session = Session(self._link, logger, settings.max_queued_messages)

    # -- Transport -------------------------------------------------------------------------

    @property
    def state(self) -> ConnectionState:
        return self._session.state

    @property
    def connected(self) -> bool:
        return self._session.state is ConnectionState.READY

    @property
    def messages_out(self) -> int:
        """Messages sent to the broker since start (for metrics)."""
        return self._link.sent

    @property
    def unacknowledged_count(self) -> int:
        """QoS>0 messages accepted by publish() that the broker has not acknowledged yet."""
        return self._session.held_count + self._link.unacknowledged_count

    def subscribe(self, topic_filter: str, handler: MessageHandler, qos: int = 1) -> Unsubscribe:
        return self._session.subscribe(topic_filter, handler, qos)

    def add_connection_listener(self, listener: ConnectionListener) -> Unsubscribe:
        return self._session.add_connection_listener(listener)

    def start(self) -> None:
        if not self._session.start():
            return
        s = self.settings
        if s.protocol == "5":
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = s.session_expiry_s
            self._client.connect_async(s.host, s.port, s.keepalive_s, clean_start=False, properties=properties)
        else:
            self._client.connect_async(s.host, s.port, s.keepalive_s)
        self._client.loop_start()
        logger.info("MQTT: connecting to %s:%d as %r", s.host, s.port, s.client_id)

    def stop(self, timeout: float = 5.0) -> None:
        """Say `offline`, wait (up to `timeout`) for pending acknowledgements, then disconnect."""
        before = self._session.begin_stop()
        if before is None:
            return  # not started, or another thread is stopping it
        if before is ConnectionState.READY:
            try:
                self._link.send(self.settings.status_topic, OFFLINE, 1, True)
            except PublishRejected as error:
                logger.warning("MQTT: could not publish the offline status: %s", error)
            self._link.wait_acknowledged(timeout)
        pending = self.unacknowledged_count
        if pending:
            logger.error(
                "MQTT: stopping with %d accepted message(s) never acknowledged by the broker; they are lost",
                pending,
            )
        self._client.disconnect()
        self._client.loop_stop()
        self._session.stopped()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Send or hold a message. Raises PublishRejected if it could not be accepted.

        QoS 1/2 messages are held while not READY and re-sent until acknowledged.
        QoS 0 messages sent while not READY are dropped (at most once), with a warning.
        """
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise PublishRejected("publish.bad_qos", qos=qos)
        self._session.publish(Message(topic, payload, qos, retain))

    # -- extras ----------------------------------------------------------------------------

    def wait_connected(self, timeout: float) -> bool:
        return self._session.wait_for(lambda state: state is ConnectionState.READY, timeout)

    def wait_disconnected(self, timeout: float) -> bool:
        return self._session.wait_for(lambda state: state is not ConnectionState.READY, timeout)

    def flush(self, timeout: float) -> bool:
        """Wait until the broker has acknowledged every accepted QoS>0 message."""
        deadline = time.monotonic() + timeout
        while self.unacknowledged_count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    # -- paho plumbing ---------------------------------------------------------------------

    def _build_client(self) -> paho.Client:
        s = self.settings
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=PROTOCOLS[s.protocol],
            clean_session=None if s.protocol == "5" else False,
        )
        # Callback exceptions are already caught below; this is a second net.
        client.suppress_exceptions = True
        # A logger rather than on_log: paho then formats its per-packet debug lines only when
        # they are wanted, instead of twice per message on the hot path.
        paho_logger.addFilter(_demote_reconnect_noise)  # idempotent: same function object
        client.enable_logger(paho_logger)
        client.reconnect_delay_set(s.reconnect_min_delay_s, s.reconnect_max_delay_s)
        client.max_queued_messages_set(s.max_queued_messages)
        if s.username is not None:
            client.username_pw_set(s.username, s.password)
        if s.tls:
            # ca_file None means the system CAs; CERT_NONE also turns off the host name check.
            client.tls_set(ca_certs=s.ca_file, cert_reqs=ssl.CERT_NONE if s.insecure else ssl.CERT_REQUIRED)
        client.will_set(s.status_topic, OFFLINE, qos=1, retain=True)
        client.on_socket_open = self._on_socket_open
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        # Door commands are tiny and latency-sensitive: do not let Nagle hold them back.
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, AttributeError) as error:
            logger.warning("MQTT: could not set TCP_NODELAY: %s", error)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any) -> None:
        s = self.settings
        if reason.is_failure:
            self.last_error = str(reason)
            hint = " (check the user name and password)" if _is_auth_failure(reason) else ""
            self._log_failure(
                logging.ERROR, "MQTT: broker %s:%d refused the connection of %r: %s%s",
                s.host, s.port, s.client_id, reason, hint,
            )  # fmt: skip
            return
        self.last_error = None
        self._failures = 0
        if self._session.state is not ConnectionState.CONNECTING:
            return  # stop() has begun
        try:
            self._link.send(s.status_topic, ONLINE, 1, True)
        except PublishRejected as error:
            logger.error("MQTT: could not publish the online status: %s", error)
        subscribed = self._session.opened()
        logger.info(
            "MQTT: connected to %s:%d (session %s, %d subscription(s))",
            s.host, s.port, "resumed" if flags.session_present else "new", subscribed,
        )  # fmt: skip
        had_session, self._has_connected = self._has_connected, True
        if had_session and not flags.session_present:
            logger.warning(
                "MQTT: the broker no longer had our session: messages sent to us while we were away are lost"
            )

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        failed = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        if failed:
            logger.error("MQTT: broker refused subscription(s): %s", ", ".join(failed))
        self._session.acknowledged(mid)

    def _on_connect_fail(self, client: paho.Client, userdata: Any) -> None:
        # paho does not pass the OSError on; with TLS it may be a refused certificate.
        self.last_error = "broker unreachable" + (" or TLS handshake failed" if self.settings.tls else "")
        self._log_failure(
            logging.WARNING, "MQTT: broker %s:%d: %s, retrying in the background",
            self.settings.host, self.settings.port, self.last_error,
        )  # fmt: skip

    def _log_failure(self, level: int, message: str, *args: object) -> None:
        # A broker down for hours must not flood the log: the first failure, then every tenth.
        self._failures += 1
        if self._failures > 1:
            message += f" (attempt {self._failures})"
        logger.log(level if self._failures % 10 == 1 else logging.DEBUG, message, *args)

    def _on_disconnect(
        self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, properties: Any
    ) -> None:
        if self._session.lost():
            logger.warning("MQTT: connection lost (%s), reconnecting", reason)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            logger.error("MQTT: message with a topic that is not UTF-8 ignored")
            return
        self.messages_in += 1  # only paho's network thread counts
        self._session.dispatch(topic, bytes(message.payload), bool(message.retain))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any) -> None:
        # Called by paho with its own lock held: never call back into paho, nor wait, from here.
        if reason.is_failure:
            topic = self._link.topic_of(mid)
            logger.error("MQTT: broker refused the message to %s: %s", topic or f"mid {mid}", reason)
        self._link.acknowledged(mid)


def _demote_reconnect_noise(record: logging.LogRecord) -> bool:
    """paho 2.2 reports each pass of its reconnect loop as an error; we already log the outage."""
    if record.levelno > logging.DEBUG and str(record.msg).startswith("Client is not connected"):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return paho_logger.isEnabledFor(logging.DEBUG)
    return True


def _is_auth_failure(reason: ReasonCode) -> bool:
    # MQTT 5 codes 0x86/0x87 and their MQTT 3.1.1 CONNACK equivalents 4/5 map to these names.
    return str(reason) in ("Bad user name or password", "Not authorized")
