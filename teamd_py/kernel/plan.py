"""From a team's config and the kernel's links to the list of changes that makes them agree.

Planning is pure: it reads a snapshot and returns steps, or refuses with every conflict it found, so
a refused team leaves the kernel exactly as it was. Nothing here takes a working link down: a NIC is
only enslaved when it carries no address of its own, and an existing bond is adopted as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    miimon: int = 0
    updelay: int = 0
    downdelay: int = 0


@dataclass(frozen=True)
class SetBondMonitoring:
    """The kernel's carrier check as the daemon wants it: miimon as a safety net for when the
    daemon is down, its delays mirroring the daemon's, and no ARP monitoring of its own. The
    kernel then only ever moves off an active member that lost carrier, which the daemon would
    do too, and never preempts (no `primary` is set)."""

    name: str
    miimon: int
    updelay: int
    downdelay: int


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


@dataclass(frozen=True)
class DeleteLink:
    name: str


@dataclass(frozen=True)
class RemoveAddress:
    name: str
    address: Address


@dataclass(frozen=True)
class Release:
    name: str


Step = (
    CreateBond
    | SetBondMonitoring
    | SetMac
    | Enslave
    | SetUp
    | CreateVlan
    | AddAddress
    | DeleteLink
    | RemoveAddress
    | Release
)


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
    miimon, updelay, downdelay = team.carrier.kernel_monitor()
    if bond is None:
        steps.append(CreateBond(team.name, team.mac, miimon, updelay, downdelay))
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
            if bond.bond_arp_interval or (
                bond.bond_miimon,
                bond.bond_updelay or 0,
                bond.bond_downdelay or 0,
            ) != (miimon, updelay, downdelay):
                steps.append(SetBondMonitoring(team.name, miimon, updelay, downdelay))
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


def plan_removals(
    old: TeamConfig,
    new: TeamConfig,
    links: dict[str, Link],
    addresses: dict[int, set[Address]],
) -> list[Step]:
    """What a reload takes away: VLANs, addresses and members the new config no longer has (a
    VLAN whose id changed goes too, and is created again by `plan_team`). Only what the old config
    put there is touched; an address an operator added by hand stays."""
    steps: list[Step] = []
    new_vlans = {v.name: v for v in new.vlans}
    for vlan in old.vlans:
        kept = new_vlans.get(vlan.name)
        if vlan.name in links and (kept is None or kept.id != vlan.id):
            steps.append(DeleteLink(vlan.name))
    devices = [(old.name, old.addresses, new.addresses)]
    devices += [
        (v.name, v.addresses, new_vlans[v.name].addresses)
        for v in old.vlans
        if v.name in new_vlans and new_vlans[v.name].id == v.id
    ]
    for name, before, after in devices:
        link = links.get(name)
        if link is None:
            continue
        have = addresses.get(link.index, set())
        keep = {a.ip for a in after}
        steps += [RemoveAddress(name, a) for a in before if a.ip not in keep and a in have]
    bond = links.get(old.name)
    kept_members = {m.name for m in new.members}
    for member in old.members:
        link = links.get(member.name)
        if (
            member.name not in kept_members
            and link is not None
            and bond is not None
            and link.master == bond.index
        ):
            steps.append(Release(member.name))
    return steps


def after_removals(
    steps: list[Step], links: dict[str, Link], addresses: dict[int, set[Address]]
) -> tuple[dict[str, Link], dict[int, set[Address]]]:
    """The snapshot as it will be once `steps` are applied, so additions are planned (and
    conflicts found) before anything changes."""
    links = dict(links)
    addresses = {k: set(v) for k, v in addresses.items()}
    for step in steps:
        match step:
            case DeleteLink(name=name):
                links.pop(name, None)
            case RemoveAddress(name=name, address=address) if name in links:
                addresses.get(links[name].index, set()).discard(address)
            case Release(name=name) if name in links:
                links[name] = replace(links[name], master=None)
    return links, addresses
