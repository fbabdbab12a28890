"""Devices at work: the hub (MQTT <-> normalized events), badge access, the door controller.

Built from the settings by ``tierslieu.hardware.wiring.build_device_components`` and set on
``runtime.controller`` (``hub``, ``facts``, ``access``, ``doors``).
"""
