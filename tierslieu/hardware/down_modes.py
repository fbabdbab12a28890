"""What a door does when tierslieu or the broker is gone (its ``fail_mode``), as commands.

``secure`` (the default): the door locks by itself. Where the firmware times its relay
(Tasmota PulseTime, Shelly ``toggle_after``, Zigbee ``on_time``) a hold-open is sent as a
timed hold that the door controller renews: if nobody renews it, the door relocks within
``door_secure_hold_seconds`` (setting). ``safe``: holds are sent untimed, and the device is told to power up
unlocked. Either way the device's power-up state is set (``SetDownMode``) when the controller
(re)connects. In a fire alarm, egress doors are held untimed whatever their mode: an
evacuation must not end because the service stopped.
"""

from __future__ import annotations

from devices.model import DeviceRef, HoldOpen, SetDownMode
from firmware_bridges import Bridge
from firmware_bridges.options import FAIL_MODE

__all__ = ["down_mode_command", "hold_command", "is_fail_safe", "renews_hold"]


def is_fail_safe(door: DeviceRef) -> bool:
    try:
        return FAIL_MODE.get(door) == "safe"
    except ValueError:  # checked when the device was saved; an old row stays secure
        return False


def renews_hold(door: DeviceRef, bridge: Bridge, fire_alarm: bool) -> bool:
    """True when this door's hold must be a timed one, renewed by the controller."""
    return not fire_alarm and not is_fail_safe(door) and bridge.relocks_itself(door)


def hold_command(door: DeviceRef, bridge: Bridge, fire_alarm: bool, hold_seconds: float) -> HoldOpen:
    return HoldOpen(hold_seconds) if renews_hold(door, bridge, fire_alarm) else HoldOpen()


def down_mode_command(door: DeviceRef) -> SetDownMode:
    return SetDownMode(fail_safe=is_fail_safe(door))
