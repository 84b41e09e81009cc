"""A raw packet socket per member NIC for path probes: ARP and IPv6 neighbour discovery only.

A member's socket sees every frame the NIC receives, at line rate. A classic BPF filter attached to
the socket keeps all but ARP and ICMPv6 NS/NA in the kernel, so Python only wakes up for frames
that can answer a probe. Received frames get their 802.1Q tag back (the kernel moves it into
metadata before packet sockets see the frame), so one parser checks the VLAN of every reply.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import socket
import struct
from collections.abc import Sequence
from types import TracebackType

import trio

from teamd_py.wire.frames import ETH_P_8021Q, ETH_P_ARP, ETH_P_IPV6
from teamd_py.wire.packet_socket import ETH_P_ALL, PACKET_AUXDATA, SOL_PACKET, with_vlan_tag

# Classic BPF opcodes, from <linux/filter.h> and <linux/bpf_common.h>.
BPF_LD = 0x00
BPF_LDX = 0x01
BPF_JMP = 0x05
BPF_RET = 0x06
BPF_W = 0x00  # 32-bit load
BPF_H = 0x08  # 16-bit load
BPF_B = 0x10  # 8-bit load
BPF_IMM = 0x00  # the constant k
BPF_ABS = 0x20  # packet byte at offset k
BPF_IND = 0x40  # packet byte at offset X + k
BPF_JEQ = 0x10
BPF_K = 0x00  # compare with / return the constant k

SO_ATTACH_FILTER = 26
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0
PACKET_MR_UNICAST = 3
PACKET_IGNORE_OUTGOING = 23  # Linux 4.20
SIOCGIFINDEX = 0x8933

ACCEPT = 0x40000  # snap length: the whole frame, whatever the MTU
IPV6_ALL_NODES_MAC = b"\x33\x33\x00\x00\x00\x01"
_IPPROTO_ICMPV6 = 58
_ND_SOLICIT = 135
_ND_ADVERT = 136
# Offsets in an untagged frame; a tag in the frame moves everything after the MACs by 4.
_OFF_ETHERTYPE = 12
_OFF_NEXT_HEADER = 14 + 6
_OFF_ICMPV6_TYPE = 14 + 40
_VLAN_HLEN = 4

_RECV_SIZE = 2048  # >= 1518 + 4: a full tagged frame
_ANCILLARY = socket.CMSG_SPACE(20)  # struct tpacket_auxdata
_PACKET_MREQ = struct.Struct("=iHH8s")  # ifindex, type, address length, address

Instruction = tuple[int, int, int, int]


def probe_filter() -> list[Instruction]:
    """The program as ``(code, jt, jf, k)`` tuples: accept ARP and NS/NA, tagged or not.

    X holds the tag's length (0 or 4) so one set of indirect loads serves both layouts: a tag still
    in the frame (outgoing frames, some taps) or one already moved into metadata. Jump offsets
    count instructions from the next one. A load beyond the frame ends the program with 0 (drop),
    so truncated frames never get through.
    """
    return [
        (BPF_LDX | BPF_W | BPF_IMM, 0, 0, 0),  # 0: X = 0, no tag in the frame
        (BPF_LD | BPF_H | BPF_ABS, 0, 0, _OFF_ETHERTYPE),  # 1: A = EtherType at 12
        (BPF_JMP | BPF_JEQ | BPF_K, 0, 2, ETH_P_8021Q),  # 2: tagged? 3 : 5
        (BPF_LDX | BPF_W | BPF_IMM, 0, 0, _VLAN_HLEN),  # 3: X = 4
        (BPF_LD | BPF_H | BPF_IND, 0, 0, _OFF_ETHERTYPE),  # 4: A = inner EtherType at 16
        (BPF_JMP | BPF_JEQ | BPF_K, 6, 0, ETH_P_ARP),  # 5: ARP? accept : 6
        (BPF_JMP | BPF_JEQ | BPF_K, 0, 6, ETH_P_IPV6),  # 6: IPv6? 7 : drop
        (BPF_LD | BPF_B | BPF_IND, 0, 0, _OFF_NEXT_HEADER),  # 7: A = IPv6 next header
        (BPF_JMP | BPF_JEQ | BPF_K, 0, 4, _IPPROTO_ICMPV6),  # 8: ICMPv6? 9 : drop
        (BPF_LD | BPF_B | BPF_IND, 0, 0, _OFF_ICMPV6_TYPE),  # 9: A = ICMPv6 type
        (BPF_JMP | BPF_JEQ | BPF_K, 1, 0, _ND_SOLICIT),  # 10: NS? accept : 11
        (BPF_JMP | BPF_JEQ | BPF_K, 0, 1, _ND_ADVERT),  # 11: NA? accept : drop
        (BPF_RET | BPF_K, 0, 0, ACCEPT),  # 12: accept
        (BPF_RET | BPF_K, 0, 0, 0),  # 13: drop
    ]


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter)))


def attach_filter(sock: socket.socket, program: Sequence[Instruction]) -> None:
    """Attach a classic BPF program (SO_ATTACH_FILTER); the kernel copies it during the call."""
    instructions = (_SockFilter * len(program))(*(_SockFilter(*i) for i in program))
    fprog = _SockFprog(len(program), instructions)
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))


def _ifindex(sock: socket.socket, device: str) -> int:
    """The device's index in the socket's own namespace (not the calling thread's)."""
    request = struct.pack("16s24x", device.encode())  # struct ifreq
    return struct.unpack_from("16xi", fcntl.ioctl(sock.fileno(), SIOCGIFINDEX, request))[0]


def _add_membership(sock: socket.socket, ifindex: int, kind: int, mac: bytes) -> None:
    mreq = _PACKET_MREQ.pack(ifindex, kind, len(mac), mac)
    sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)


class ProbeSocket:
    """One AF_PACKET socket on one member NIC: sends probe frames, receives ARP/ND frames.

    Received frames carry their 802.1Q tag again, as they were on the wire.
    """

    def __init__(self, device: str, own_mac: bytes | None = None) -> None:
        """Open the socket on ``device``.

        ``own_mac`` is the NIC's permanent MAC when it differs from its current one (a standby
        member carries the bond's): a real NIC's unicast filter would drop replies to it unless
        the socket asks for that address, and answers to probes from ``::`` go to all nodes.
        Memberships last as long as the socket.
        """
        if own_mac is not None and len(own_mac) != 6:
            raise ValueError(f"a MAC address is 6 bytes, got {own_mac!r}")
        self.device = device
        # Protocol 0 receives nothing until bind, so no frame from another device, and none that
        # the filter would drop, can be queued before the filter is in place.
        raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        try:
            attach_filter(raw, probe_filter())
            raw.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            # An older kernel lacks the option: receive() then drops our frames by packet type.
            with contextlib.suppress(OSError):
                raw.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            raw.bind((device, ETH_P_ALL))
            if own_mac is not None:
                ifindex = _ifindex(raw, device)
                _add_membership(raw, ifindex, PACKET_MR_UNICAST, bytes(own_mac))
                _add_membership(raw, ifindex, PACKET_MR_MULTICAST, IPV6_ALL_NODES_MAC)
            raw.setblocking(False)
            _drain(raw)
        except BaseException:
            raw.close()
            raise
        self._sock = trio.socket.from_stdlib_socket(raw)

    async def send(self, frame: bytes) -> None:
        """Send a whole Ethernet frame as is; ``OSError`` (device gone, queue full) propagates."""
        await self._sock.sendto(frame, (self.device, 0))

    async def receive(self) -> bytes:
        """The next ARP or NS/NA frame received, its 802.1Q tag back in place."""
        while True:
            data, ancdata, flags, address = await self._sock.recvmsg(_RECV_SIZE, _ANCILLARY)
            if address[2] == socket.PACKET_OUTGOING or flags & socket.MSG_TRUNC:
                continue  # a frame going out of this device, or one too large to be a reply
            return with_vlan_tag(data, ancdata)

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> ProbeSocket:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _drain(sock: socket.socket) -> None:
    """Discard anything queued before the socket was fully set up."""
    while True:
        try:
            sock.recv(_RECV_SIZE)
        except BlockingIOError:
            return
