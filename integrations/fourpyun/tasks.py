"""4pyun's periodic work (the schedules `FourpyunConfig.schedules` names)."""

from .devices import devices_sync as _devices_sync


def devices_sync() -> int:
    """Every minute: the mapped chargers whose state changed since their last device sync."""
    return _devices_sync()
