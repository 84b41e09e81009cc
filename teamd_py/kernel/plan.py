"""From a team's config and the kernel's links to the list of changes that makes them agree.

Planning is pure: it reads a snapshot and returns steps, or refuses with every conflict it found, so
a refused team leaves the kernel exactly as it was. Nothing here takes a working link down: a NIC is
only enslaved when it carries no address of its own, and an existing bond is adopted as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Interface, IPv6Interface

from teamd_py.config import TeamConfig
from teamd_py.kernel.links import BOND_MODE_ACTIVEBACKUP, Link

Address = IPv4Interface | IPv6Interface


class TeamConflict(Exception):
    """The kernel holds something that the daemon will not change on its own authority."""

    def __init__(self, team: str, problems: list[str]) -> None:
        self.team = team
        self.problems = problems
        super().__init__("; ".join(f"{team}: {p}" for p in problems))


@dataclass(frozen=True)
class CreateBond:
    name: str
    mac: str | None


@dataclass(frozen=True)
class DisableBondMonitoring:
    """miimon/arp_interval off, so the kernel never overrules the daemon's choice."""

    name: str


@dataclass(frozen=True)
class SetMac:
    name: str
    mac: str


@dataclass(frozen=True)
class Enslave:
    name: str
    bond: str
    was_up: bool = False  # restored if the team cannot be built


@dataclass(frozen=True)
class SetUp:
    name: str


@dataclass(frozen=True)
class CreateVlan:
    name: str
    bond: str
    vlan_id: int


@dataclass(frozen=True)
class AddAddress:
    name: str
    address: Address


Step = CreateBond | DisableBondMonitoring | SetMac | Enslave | SetUp | CreateVlan | AddAddress


def _counts(addr: Address) -> bool:
    """Addresses that carry traffic of their own (an IPv6 link-local one comes with every link)."""
    return not (isinstance(addr, IPv6Interface) and addr.ip.is_link_local)


def plan_team(
    team: TeamConfig,
    links: dict[str, Link],
    addresses: dict[int, set[Address]],
    preferred: list[str],
) -> list[Step]:
    """Steps that bring the kernel to `team`; `preferred` orders members for enslaving."""
    problems: list[str] = []
    steps: list[Step] = []
    by_index = {link.index: link for link in links.values()}
    bond = links.get(team.name)
    if bond is None:
        steps.append(CreateBond(team.name, team.mac))
    else:
        if bond.kind != "bond":
            problems.append(f"{team.name} exists and is not a bond (kind {bond.kind or 'none'})")
        elif bond.bond_mode != BOND_MODE_ACTIVEBACKUP:
            problems.append(
                f"bond {team.name} is in mode {bond.bond_mode}, not active-backup; "
                "its mode cannot change while it is in use, so it is left alone"
            )
        elif bond.bond_fail_over_mac:
            problems.append(
                f"bond {team.name} has fail_over_mac {bond.bond_fail_over_mac}: the logical MAC "
                "would follow the active member; set it to none (0) while the bond has no slaves"
            )
        else:
            if bond.bond_miimon or bond.bond_arp_interval:
                steps.append(DisableBondMonitoring(team.name))
            if team.mac is not None and bond.mac != team.mac:
                steps.append(SetMac(team.name, team.mac))
    bond_index = bond.index if bond is not None else None

    members = sorted(team.members, key=lambda m: preferred.index(m.name))
    for member in members:
        link = links.get(member.name)
        if link is None:
            continue  # runs degraded and picks the NIC up when it appears
        if link.master is not None and link.master == bond_index:
            if not link.admin_up:
                steps.append(SetUp(member.name))
            continue
        if link.master is not None:
            owner = by_index.get(link.master)
            problems.append(
                f"member {member.name} is already enslaved to "
                f"{owner.name if owner else f'ifindex {link.master}'}"
            )
            continue
        own = sorted(str(a) for a in addresses.get(link.index, set()) if _counts(a))
        if own:
            problems.append(
                f"member {member.name} carries addresses {', '.join(own)}: enslaving it would cut "
                "their traffic; move them into the team's config and remove them from the NIC"
            )
            continue
        steps.append(Enslave(member.name, team.name, was_up=link.admin_up))

    if bond is None or not bond.admin_up:
        steps.append(SetUp(team.name))

    devices: list[tuple[str, tuple[Address, ...], int | None]] = [
        (team.name, team.addresses, bond_index)
    ]
    for vlan in team.vlans:
        existing = links.get(vlan.name)
        if existing is None:
            steps.append(CreateVlan(vlan.name, team.name, vlan.id))
            steps.append(SetUp(vlan.name))
            devices.append((vlan.name, vlan.addresses, None))
            continue
        if existing.kind != "vlan":
            problems.append(
                f"{vlan.name} exists and is not a VLAN (kind {existing.kind or 'none'})"
            )
            continue
        if bond_index is None or existing.link != bond_index:
            parent = by_index.get(existing.link) if existing.link else None
            problems.append(
                f"VLAN {vlan.name} exists on {parent.name if parent else 'another device'}, "
                f"not on {team.name}"
            )
            continue
        if existing.vlan_id != vlan.id:
            problems.append(f"VLAN {vlan.name} has id {existing.vlan_id}, not {vlan.id}")
            continue
        if not existing.admin_up:
            steps.append(SetUp(vlan.name))
        devices.append((vlan.name, vlan.addresses, existing.index))

    for name, wanted, index in devices:
        have = addresses.get(index, set()) if index is not None else set()
        have_ips = {a.ip for a in have}
        steps.extend(AddAddress(name, a) for a in wanted if a.ip not in have_ips)

    if problems:
        raise TeamConflict(team.name, problems)
    return steps
