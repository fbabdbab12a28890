"""`Transport` over a real MQTT broker, with paho-mqtt 2.x. The only module that imports paho.

What it guarantees:
- a persistent session (fixed client id, MQTT 5 `clean_start=False` plus a session expiry, or
  MQTT 3.1.1 `clean_session=False`): QoS 1 messages sent to us while we are away are delivered
  when we come back, and ours are re-sent until the broker acknowledges them;
- automatic reconnection with exponential back-off, re-subscribing every filter each time;
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
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.transport import (
    ConnectionListener,
    MessageHandler,
    PublishRejected,
    TransportError,
    validate_topic,
    validate_topic_filter,
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


class PahoTransport:
    """A `devices.transport.Transport` over paho-mqtt. Nothing happens until `start()`."""

    def __init__(self, settings: MqttSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        # Replaced, never mutated: the network thread reads it without taking the lock.
        self._handlers: tuple[MessageHandler, ...] = ()
        self._listeners: list[ConnectionListener] = []
        self._filters: dict[str, int] = {}
        # QoS>0 message ids accepted by publish() and not yet acknowledged by the broker.
        self._unacked: dict[int, str] = {}
        self._connected = threading.Event()
        self._disconnected = threading.Event()
        self._disconnected.set()
        self._started = False
        self._session_open = False  # CONNACK received; guarded by _lock, unlike `connected`
        # Messages accepted while no session is open. paho is not given them before CONNACK:
        # a PUBLISH racing the session resumption can make it drop the connection.
        self._held: list[tuple[str, bytes, int, bool]] = []
        self._publishing = False  # held messages sent and new ones go straight to paho
        self._ready_mid: int | None = None  # the SUBSCRIBE whose SUBACK makes us `connected`
        self._has_connected = False
        self._failures = 0
        self.last_error: str | None = None
        self._client = self._build_client()

    # -- Transport -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def unacknowledged_count(self) -> int:
        """QoS>0 messages accepted by publish() that the broker has not acknowledged yet."""
        with self._lock:
            return len(self._unacked) + len(self._held)

    def add_handler(self, handler: MessageHandler) -> None:
        with self._lock:
            self._handlers = (*self._handlers, handler)

    def add_connection_listener(self, listener: ConnectionListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def start(self) -> None:
        if self._started:
            return
        self._started = True
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
        if not self._started:
            return
        self._started = False
        if self.connected:
            info = self._client.publish(self.settings.status_topic, OFFLINE, qos=1, retain=True)
            self._wait_published(info, timeout)
            self.flush(timeout)
        pending = self.unacknowledged_count
        if pending:
            logger.error(
                "MQTT: stopping with %d accepted message(s) never acknowledged by the broker; they are lost",
                pending,
            )
        self._client.disconnect()
        self._client.loop_stop()
        # paho reports the disconnection from its thread; make sure listeners heard it.
        self._on_disconnect(self._client, None, None, ReasonCode(PacketTypes.DISCONNECT), None)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Send or queue a message. Raises PublishRejected if it could not be accepted.

        QoS 1/2 messages are queued while disconnected and re-sent until acknowledged.
        QoS 0 messages sent while disconnected are dropped (at most once), with a warning.
        """
        validate_topic(topic)
        if qos not in (0, 1, 2):
            raise PublishRejected("publish.bad_qos", qos=qos)
        with self._lock:
            if not self._publishing:
                self._hold(topic, payload, qos, retain)
                return
        self._send(topic, payload, qos, retain)

    def _hold(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        """Keep a message until the session opens (caller holds the lock)."""
        if qos == 0:
            logger.warning("MQTT: not connected, QoS 0 message to %s dropped", topic)
            return
        if len(self._held) >= self.settings.max_queued_messages:
            raise PublishRejected("publish.queue_full", topic=topic, limit=self.settings.max_queued_messages)
        self._held.append((topic, payload, qos, retain))
        logger.info("MQTT: not connected, message to %s queued until the broker is back", topic)

    def _send(self, topic: str, payload: bytes, qos: int, retain: bool) -> None:
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        rc = info.rc
        if qos == 0:
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                logger.warning("MQTT: QoS 0 message to %s dropped (%s)", topic, paho.error_string(rc))
            return
        if rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            raise PublishRejected("publish.queue_full", topic=topic, limit=self.settings.max_queued_messages)
        if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise PublishRejected("publish.failed", topic=topic, reason=paho.error_string(rc))
        with self._lock:
            self._unacked[info.mid] = topic
        # The acknowledgement may have raced ahead of the line above; on_publish then found
        # nothing to remove, so check paho's own flag after registering.
        if _acknowledged(info):
            with self._lock:
                self._unacked.pop(info.mid, None)
        if rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            logger.info("MQTT: not connected, message to %s queued until the broker is back", topic)

    def subscribe(self, topic_filter: str, qos: int = 1) -> None:
        validate_topic_filter(topic_filter)
        with self._lock:
            self._filters[topic_filter] = qos
            connected = self._session_open
        if connected:
            # If the connection drops now, on_connect subscribes again anyway.
            self._client.subscribe(topic_filter, qos)

    def unsubscribe(self, topic_filter: str) -> None:
        with self._lock:
            self._filters.pop(topic_filter, None)
            connected = self._session_open
        if connected:
            self._client.unsubscribe(topic_filter)

    # -- extras ----------------------------------------------------------------------------

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_disconnected(self, timeout: float) -> bool:
        return self._disconnected.wait(timeout)

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
        with self._lock:
            # Taken together with the flag so that a concurrent subscribe() is either in this
            # snapshot or sees the session open and sends its own SUBSCRIBE.
            filters = list(self._filters.items())
            self._session_open = True
            had_session, self._has_connected = self._has_connected, True
        client.publish(s.status_topic, ONLINE, qos=1, retain=True)
        if filters:
            # `connected` waits for the SUBACK: only then does the broker route to us what
            # others publish (their packets may reach it before our SUBSCRIBE otherwise).
            _result, self._ready_mid = client.subscribe(filters)
        else:
            self._become_ready()
        logger.info(
            "MQTT: connected to %s:%d (session %s, %d subscription(s))",
            s.host, s.port, "resumed" if flags.session_present else "new", len(filters),
        )  # fmt: skip
        if had_session and not flags.session_present:
            logger.warning(
                "MQTT: the broker no longer had our session: messages sent to us while we were away are lost"
            )

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
        failed = [str(r) for r in reasons if getattr(r, "is_failure", False)]
        if failed:
            logger.error("MQTT: broker refused subscription(s): %s", ", ".join(failed))
        if mid == self._ready_mid:
            self._ready_mid = None
            self._become_ready()

    def _become_ready(self) -> None:
        """Subscriptions are in place: send what was held, then tell everyone we are connected."""
        while True:  # in order: what arrives while we drain is held and drained next round
            with self._lock:
                held, self._held = self._held, []
                if not held:
                    self._publishing = True
                    listeners = list(self._listeners)
                    break
            for topic, payload, qos, retain in held:
                try:
                    self._send(topic, payload, qos, retain)
                except PublishRejected as error:
                    logger.error("MQTT: a message held while offline could not be sent: %s", error)
        self._disconnected.clear()
        self._connected.set()
        self._notify(listeners, True)

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
        with self._lock:
            was_connected = self._session_open
            self._session_open = False
            self._publishing = False
            self._ready_mid = None
            self._connected.clear()
            self._disconnected.set()
            listeners = list(self._listeners)
        if was_connected:
            if self._started:
                logger.warning("MQTT: connection lost (%s), reconnecting", reason)
            self._notify(listeners, False)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            logger.error("MQTT: message with a topic that is not UTF-8 ignored")
            return
        for handler in self._handlers:
            try:
                handler(topic, bytes(message.payload), bool(message.retain))
            except Exception:
                logger.exception("MQTT: handler %r failed on a message from %s", handler, topic)

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, properties: Any) -> None:
        # Called by paho with its own lock held: never call back into paho from here.
        with self._lock:
            topic = self._unacked.pop(mid, None)
        if reason.is_failure:
            logger.error("MQTT: broker refused the message to %s: %s", topic or f"mid {mid}", reason)

    @staticmethod
    def _notify(listeners: list[ConnectionListener], connected: bool) -> None:
        for listener in listeners:
            try:
                listener(connected)
            except Exception:
                logger.exception("MQTT: connection listener %r failed", listener)

    @staticmethod
    def _wait_published(info: paho.MQTTMessageInfo, timeout: float) -> None:
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as error:
            logger.warning("MQTT: could not publish the offline status: %s", error)


def _demote_reconnect_noise(record: logging.LogRecord) -> bool:
    """paho 2.2 reports each pass of its reconnect loop as an error; we already log the outage."""
    if record.levelno > logging.DEBUG and str(record.msg).startswith("Client is not connected"):
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return paho_logger.isEnabledFor(logging.DEBUG)
    return True


def _acknowledged(info: paho.MQTTMessageInfo) -> bool:
    # is_published() raises for messages queued while offline, whose info.rc stays NO_CONN
    # even after paho sends them; the flag itself is what we need.
    return bool(info._published)


def _is_auth_failure(reason: ReasonCode) -> bool:
    # MQTT 5 codes 0x86/0x87 and their MQTT 3.1.1 CONNACK equivalents 4/5 map to these names.
    return str(reason) in ("Bad user name or password", "Not authorized")
