#!/usr/bin/env python3
"""Writes the error-parser seeds of the icmp_fuzzer corpus
(tests/fuzz/corpus/icmp_fuzzer/err_*): a selector byte (icmp_fuzzer.cc:
4 ParseIcmpErrorV4, 5 ParseIcmpErrorV6, 6 ParseIcmpExtensions, 7 an error
queue entry) and a packet, built with the lab responder's own builders
(tests/lab/icmp_mpls_responder.py). Run it after changing the seeds."""

import importlib.util
import pathlib
import socket
import struct

root = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location(
    "responder", root / "tests/lab/icmp_mpls_responder.py")
r = importlib.util.module_from_spec(spec)
spec.loader.exec_module(r)

PROBE_SRC, TARGET, ROUTER = "198.18.0.10", "198.18.9.9", "198.18.1.1"


def ipv4(protocol, payload, ttl=1, src=PROBE_SRC, dst=TARGET):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0x4242, 0, ttl,
                         protocol, 0, socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", r.checksum(header)) + header[12:]
    return header + payload


def ipv6(next_header, payload, flow=0xabcde):
    return (struct.pack("!IHBB", 6 << 28 | flow, len(payload), next_header, 1) +
            socket.inet_pton(socket.AF_INET6, "2001:db8::1") +
            socket.inet_pton(socket.AF_INET6, "2001:db8::9") + payload)


def udp(payload=bytes(range(12))):
    return struct.pack("!HHHH", 33434, 33435, 8 + len(payload), 0xbeef) + payload


def icmp4_error(type_, code, rest, body):
    m = struct.pack("!BBH", type_, code, 0) + rest + body
    m = m[:2] + struct.pack("!H", r.checksum(m)) + m[4:]
    return ipv4(1, m, ttl=250, src=ROUTER, dst=PROBE_SRC)


def without_length(packet):
    """A v4 error with its RFC 4884 length zeroed (the compatibility rule)."""
    icmp = bytearray(packet[20:])
    icmp[5] = 0
    icmp[2:4] = b"\0\0"
    icmp[2:4] = struct.pack("!H", r.checksum(bytes(icmp)))
    return packet[:20] + bytes(icmp)


probe_v4 = ipv4(17, udp())
probe_v6 = ipv6(17, udp())
labels = [16001, 24005]
seeds = {
    "err_v4_time_exceeded_udp": (4, r.time_exceeded_v4(probe_v4, ROUTER, [])),
    "err_v4_mpls_two_labels": (4, r.time_exceeded_v4(probe_v4, ROUTER, labels)),
    "err_v4_mpls_compat_length_zero":
        (4, without_length(r.time_exceeded_v4(probe_v4, ROUTER, labels))),
    "err_v4_frag_needed_mtu": (4, icmp4_error(3, 4, b"\0\0\x05\xdc", probe_v4)),
    "err_v4_quote_tcp":
        (4, icmp4_error(11, 0, bytes(4), ipv4(6, bytes.fromhex("9c40005012345678")))),
    "err_v4_quote_echo":
        (4, icmp4_error(11, 0, bytes(4), ipv4(1, bytes.fromhex("0800f7fe00010001")))),
    "err_v6_time_exceeded_udp_mpls": (5, r.time_exceeded_v6(probe_v6, labels)),
    "err_v6_packet_too_big":
        (5, struct.pack("!BBHI", 2, 0, 0, 1280) + probe_v6),
    "err_extension_mpls": (6, r.mpls_extension(labels)),
    "err_queue_v4_mpls":
        (7, bytes([100]) + bytes(100) + r.mpls_extension(labels)),
}
out = root / "tests/fuzz/corpus/icmp_fuzzer"
for name, (selector, packet) in seeds.items():
    (out / name).write_bytes(bytes([selector]) + packet)
print(f"wrote {len(seeds)} seeds to {out}")
