"""Announcements after a switch: gratuitous ARP and unsolicited NA for every address we own.

With its own monitoring off the bond sends at most one notification itself, and none for the VLANs
stacked on it, so switches and neighbours keep pointing at the old port until the daemon speaks up.
Frames for a VLAN go out through the VLAN device, so the kernel tags them exactly as it tags the
traffic that follows.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from ipaddress import IPv4Interface, IPv6Interface

import structlog
import trio

from teamd_py.wire.frames import arp_announcement, mac_to_bytes, unsolicited_na

log = structlog.get_logger()


def announcement_frames(
    mac: str, addresses: Iterable[IPv4Interface | IPv6Interface]
) -> list[bytes]:
    raw = mac_to_bytes(mac)
    frames = []
    for address in sorted(addresses, key=lambda a: (a.version, a.ip)):
        if address.version == 4:
            frames.append(arp_announcement(raw, address.ip))
        else:
            frames.append(unsolicited_na(raw, address.ip))
    return frames


class Announcer:
    """Sends prepared frames on named devices through one AF_PACKET socket."""

    def __init__(self) -> None:
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: receives nothing
        self._sock = trio.socket.from_stdlib_socket(raw)

    def close(self) -> None:
        self._sock.close()

    async def send(self, device: str, frames: list[bytes]) -> int:
        sent = 0
        for frame in frames:
            try:
                await self._sock.sendto(frame, (device, 0))
                sent += 1
            except OSError as exc:  # the device went away or its queue is full: keep going
                log.warning("announce_failed", device=device, error=str(exc))
                break
        return sent

    async def burst(
        self, team: str, per_device: dict[str, list[bytes]], count: int, interval: float
    ) -> None:
        """`count` rounds `interval` seconds apart; a newer switch cancels an older burst."""
        for round_ in range(count):
            if round_:
                await trio.sleep(interval)
            sent = 0
            for device, frames in per_device.items():
                sent += await self.send(device, frames)
            log.debug("announced", team=team, round=round_ + 1, frames=sent)
