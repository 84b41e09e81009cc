"""The probe socket's BPF program: run by a classic-BPF interpreter, vetted by the kernel."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teamd_py.wire import frames
from teamd_py.wire.probe_socket import (
    ACCEPT,
    BPF_ABS,
    BPF_B,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JEQ,
    BPF_JMP,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_RET,
    BPF_W,
    attach_filter,
    probe_filter,
)

MAC = frames.mac_to_bytes("02:00:00:00:00:0a")
GATEWAY6 = IPv6Address("fd00:10::fe")
BPF_MAXINSNS = 4096


class OutOfBounds(Exception):
    pass


def run(program: list[tuple[int, int, int, int]], packet: bytes) -> int:
    """Classic BPF as the kernel runs it, for the opcodes the probe filter uses."""
    a = x = pc = 0

    def load(offset: int, size: int) -> int:
        if offset + size > len(packet):
            raise OutOfBounds
        return int.from_bytes(packet[offset : offset + size], "big")

    try:
        while True:
            code, jt, jf, k = program[pc]
            pc += 1
            if code == BPF_LDX | BPF_W | BPF_IMM:
                x = k
            elif code in (BPF_LD | BPF_H | BPF_ABS, BPF_LD | BPF_B | BPF_ABS):
                a = load(k, 2 if code & BPF_H else 1)
            elif code in (BPF_LD | BPF_H | BPF_IND, BPF_LD | BPF_B | BPF_IND):
                a = load(x + k, 2 if code & BPF_H else 1)
            elif code == BPF_JMP | BPF_JEQ | BPF_K:
                pc += jt if a == k else jf
            elif code == BPF_RET | BPF_K:
                return k
            else:
                raise AssertionError(f"opcode {code:#x} not interpreted")
    except OutOfBounds:
        return 0  # what the kernel does on a load beyond the packet


def accepted(frame: bytes) -> bool:
    return run(probe_filter(), frame) != 0


def untag(frame: bytes) -> bytes:
    """What a packet socket sees when the driver moved the tag into metadata."""
    assert frame[12:14] == b"\x81\x00"
    return frame[:12] + frame[16:]


def ipv6_frame(next_header: int, body: bytes, vlan: int | None = None) -> bytes:
    src, dst = IPv6Address("fe80::1"), IPv6Address("ff02::1")
    header = struct.pack("!IHBB16s16s", 6 << 28, len(body), next_header, 64, src.packed, dst.packed)
    return frames.ethernet(b"\x33\x33\x00\x00\x00\x01", MAC, frames.ETH_P_IPV6, header + body, vlan)


def wanted_frames(vlan: int | None) -> list[bytes]:
    return [
        frames.arp_request(MAC, IPv4Address("0.0.0.0"), IPv4Address("192.168.1.254"), vlan),
        frames.arp_announcement(MAC, IPv4Address("192.168.1.1"), vlan),
        frames.neighbor_solicitation(MAC, IPv6Address("::"), GATEWAY6, vlan),
        frames.neighbor_solicitation(MAC, IPv6Address("fd00:10::1"), GATEWAY6, vlan),
        frames.unsolicited_na(MAC, GATEWAY6, vlan),
    ]


def unwanted_frames(vlan: int | None) -> list[bytes]:
    echo = struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"ping"
    udp_with_ns_byte = bytes([135]) * 40  # a 135 where an ICMPv6 type would sit
    ipv4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 17, 0, bytes(4), bytes(4))
    return [
        frames.ethernet(frames.BROADCAST, MAC, frames.ETH_P_IP, ipv4 + bytes(8), vlan),
        ipv6_frame(58, echo, vlan),
        ipv6_frame(17, udp_with_ns_byte, vlan),
        ipv6_frame(58, bytes([134]) + bytes(15), vlan),  # router advertisement
        frames.ethernet(frames.BROADCAST, MAC, 0x88B5, b"local experimental", vlan),
        frames.ethernet(frames.BROADCAST, MAC, 0x88CC, b"lldp", vlan),
    ]


@pytest.mark.parametrize("vlan", [None, 10, 0])
def test_accepts_arp_and_neighbour_discovery(vlan):
    for frame in wanted_frames(vlan):
        assert run(probe_filter(), frame) == ACCEPT
        if vlan is not None:
            assert run(probe_filter(), untag(frame)) == ACCEPT


@pytest.mark.parametrize("vlan", [None, 10])
def test_drops_everything_else(vlan):
    for frame in unwanted_frames(vlan):
        assert not accepted(frame)
        if vlan is not None:
            assert not accepted(untag(frame))


def test_accepts_whole_tagged_frames():
    assert ACCEPT >= 1518 + 4


def test_drops_truncated_frames():
    ns = frames.neighbor_solicitation(MAC, IPv6Address("::"), GATEWAY6, vlan=10)
    assert accepted(ns[:59])  # just the ICMPv6 type byte of a tagged frame
    for cut in (0, 13, 15, 17, 24, 58):
        assert not accepted(ns[:cut])
    assert not accepted(untag(ns)[:54])


def test_only_the_first_tag_is_looked_through():
    arp = frames.arp_request(MAC, IPv4Address("0.0.0.0"), IPv4Address("192.168.1.254"), 10)
    double = arp[:12] + struct.pack("!HH", 0x8100, 20) + arp[12:]
    assert not accepted(double)


def test_program_structure():
    program = probe_filter()
    assert len(program) <= BPF_MAXINSNS
    for pc, (code, jt, jf, k) in enumerate(program):
        assert 0 <= code <= 0xFFFF and 0 <= jt <= 0xFF and 0 <= jf <= 0xFF and 0 <= k < 2**32
        if code & 0x07 == BPF_JMP:
            assert pc + 1 + max(jt, jf) < len(program)  # every branch lands inside
    assert program[-1] == (BPF_RET | BPF_K, 0, 0, 0)  # falls through to drop, never off the end
    assert (BPF_RET | BPF_K, 0, 0, ACCEPT) in program


def test_the_kernel_accepts_the_program():
    # Any socket takes a classic filter, and the kernel checks the program when it is attached.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        attach_filter(sock, probe_filter())


def test_the_kernel_rejects_a_broken_program():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock, pytest.raises(OSError):
        attach_filter(sock, [(BPF_JMP | BPF_JEQ | BPF_K, 5, 5, 0)])  # jumps off the end


def reference(frame: bytes) -> bool:
    """The filter's contract in plain Python."""
    if len(frame) < 14:
        return False
    tag = 4 if frame[12:14] == b"\x81\x00" else 0
    if len(frame) < 14 + tag:
        return False
    ethertype = int.from_bytes(frame[12 + tag : 14 + tag], "big")
    if ethertype == frames.ETH_P_ARP:
        return True
    if ethertype != frames.ETH_P_IPV6 or len(frame) <= 20 + tag or frame[20 + tag] != 58:
        return False
    return len(frame) > 54 + tag and frame[54 + tag] in (135, 136)


@st.composite
def frame_like(draw: st.DrawFn) -> bytes:
    """Mostly-plausible frames, so that every branch of the program gets exercised."""
    ethertypes = st.sampled_from([0x0806, 0x86DD, 0x0800, 0x8100, 0x88B5]) | st.integers(0, 0xFFFF)
    head = draw(st.binary(min_size=12, max_size=12))
    if draw(st.booleans()):
        head += struct.pack("!HH", 0x8100, draw(st.integers(0, 0xFFFF)))
    head += struct.pack("!H", draw(ethertypes))
    ipv6 = bytearray(draw(st.binary(min_size=40, max_size=40)))
    ipv6[6] = draw(st.sampled_from([58, 17, 0]) | st.integers(0, 255))
    icmp = bytes([draw(st.sampled_from([135, 136, 128, 134]) | st.integers(0, 255))])
    frame = head + bytes(ipv6) + icmp + draw(st.binary(max_size=30))
    return frame[: draw(st.integers(0, len(frame)))] if draw(st.booleans()) else frame


@given(frame_like())
def test_matches_the_contract(frame):
    assert accepted(frame) == reference(frame)
