"""CPU platforms: Unicorn (emulated, portable) and, later, KVM (hardware)."""

from twaron.platform.base import (
    Event,
    Platform,
    PlatformUnavailable,
    UserRegs,
    available,
    create,
)

__all__ = ["Event", "Platform", "PlatformUnavailable", "UserRegs", "available", "create"]
