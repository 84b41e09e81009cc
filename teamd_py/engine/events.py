"""What goes into the AFT engine (observations) and what comes out (decisions).

Observations are *levels*, not edges: reporting "eth0 has carrier" twice is harmless, which lets the
shell re-read the kernel after a netlink overflow and feed everything again.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum


class Health(Enum):
    """A member's carrier health, after the up/down delays."""

    ABSENT = "absent"  # no such NIC in the kernel, or not enslaved
    DOWN = "down"
    RISING = "rising"  # carrier up, waiting for up_delay
    UP = "up"
    FALLING = "falling"  # carrier down, still counted healthy until down_delay ends

    def __repr__(self) -> str:
        return self.value


class TeamState(StrEnum):
    """UP: the active member is fully healthy. DEGRADED: traffic flows through a member whose path
    or carrier is not proven (nothing better exists). DOWN: no member can carry traffic."""

    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class Reason(StrEnum):
    """Why the engine picked a new active member."""

    INITIAL = "initial"  # the team had no active member
    ACTIVE_DOWN = "active_down"  # the active member lost carrier
    PATH_DOWN = "path_down"  # the active member kept carrier but its probes went unanswered
    ACTIVE_ABSENT = "active_absent"  # the active member vanished or was released
    PREEMPT = "preempt"  # a better-ranked member is healthy again
    REFUSED = "refused"  # the kernel refused the previous choice
    MANUAL = "manual"  # an operator pinned this member
    DAMPED = "damped"  # the active member flapped past the suppress level
    KERNEL = "kernel"  # the kernel's own carrier check switched first (the daemon agreed)
    DRIFT = "drift"  # someone else changed the active member away from a healthy one: undone


# -- observations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberPresent:
    """The member exists in the kernel and is enslaved to the team, with this carrier."""

    member: str
    carrier: bool


@dataclass(frozen=True)
class MemberAbsent:
    """The member vanished, or is no longer enslaved to the team."""

    member: str


class PathStatus(StrEnum):
    """A member's path verdict from its probes. UNKNOWN until enough rounds have been seen."""

    UP = "up"
    UNKNOWN = "unknown"
    DOWN = "down"


@dataclass(frozen=True)
class PathReported:
    """Whether the member's path policy holds (its probes are answered), from the path monitor."""

    member: str
    status: PathStatus


@dataclass(frozen=True)
class Pin:
    """An operator's choice (`teamd-py switch`): keep `member` active until it fails; None
    returns to automatic choice. `forced` pins a member whose path is not healthy; only losing
    carrier (or vanishing) releases that."""

    member: str | None
    forced: bool = False


@dataclass(frozen=True)
class ActiveReported:
    """The kernel reports this member (or none) as the bond's active slave."""

    member: str | None


@dataclass(frozen=True)
class SwitchRefused:
    """The kernel refused to make `member` active; `active` is what it has instead."""

    member: str
    active: str | None
    error: str


Observation = MemberPresent | MemberAbsent | PathReported | Pin | ActiveReported | SwitchRefused


# -- decisions ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activate:
    """Make `member` the active slave (the shell reports back a refusal as SwitchRefused)."""

    member: str
    previous: str | None
    reason: Reason


@dataclass(frozen=True)
class TeamStatus:
    """The team's state changed."""

    state: TeamState
    active: str | None


@dataclass(frozen=True)
class HealthChanged:
    """A member's health moved; for logs, events and state views."""

    member: str
    old: Health
    new: Health


@dataclass(frozen=True)
class PinReleased:
    """The pinned member failed (or was refused): automatic choice resumes."""

    member: str
    why: str


@dataclass(frozen=True)
class Damped:
    """A flapping member was suppressed (or is quiet again) by flap damping."""

    member: str
    suppressed: bool
    penalty: int


@dataclass(frozen=True)
class KernelSwitched:
    """The kernel's safety net moved traffic off a member that lost carrier, and the engine
    agrees: nothing to undo, but the switch is logged and announced like the daemon's own."""

    previous: str | None
    member: str | None


Decision = Activate | TeamStatus | HealthChanged | PinReleased | Damped | KernelSwitched
