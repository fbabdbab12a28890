"""Devices at work: the hub (MQTT <-> normalized events), badge access, the door controller.

Built from the settings by ``tierslieu.hardware.wiring.build_device_components`` and shared
through ``runtime.services``: ``"devices"`` (DeviceHub), ``"access"`` (AccessController),
``"doors"`` (DoorController), ``"access_facts"`` (FactsCache).
"""
