"""AF_PACKET receive helpers: frames as they were on the wire, 802.1Q tag included.

Most drivers (veth too) strip the VLAN tag on receive and hand it over beside the frame; a raw
packet socket then delivers the frame untagged and the tag only in PACKET_AUXDATA. Putting it back
lets one parser validate the VLAN id of every frame, whatever the NIC does.
"""

from __future__ import annotations

import socket
import struct

SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
_AUXDATA = struct.Struct("=IIIHHHH")
ETH_P_ALL = 0x0003


def open_receiver(device: str, ethertype: int = ETH_P_ALL) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sock.bind((device, ethertype))
    return sock


def with_vlan_tag(frame: bytes, ancdata: list[tuple[int, int, bytes]]) -> bytes:
    """Reinsert the tag the driver stripped, if PACKET_AUXDATA says there was one."""
    for level, kind, data in ancdata:
        if level != SOL_PACKET or kind != PACKET_AUXDATA or len(data) < _AUXDATA.size:
            continue
        status, _, _, _, _, tci, tpid = _AUXDATA.unpack_from(data)
        if status & TP_STATUS_VLAN_VALID and len(frame) >= 12:
            tpid = tpid if status & TP_STATUS_VLAN_TPID_VALID and tpid else 0x8100
            return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def recv_frame(sock: socket.socket, size: int = 2048) -> bytes:
    data, ancdata, _, _ = sock.recvmsg(size, socket.CMSG_SPACE(_AUXDATA.size))
    return with_vlan_tag(data, ancdata)
