#!/usr/bin/env python3
"""A lab "MPLS router": answers packets for one address with ICMP time exceeded
carrying an RFC 4950 MPLS label stack in an RFC 4884 extension.

Meant to run as root inside a lab network namespace on the path to --target.
It reads every packet arriving on --interface (an AF_PACKET socket, Ethernet
framing, incoming packets only) and, for each IPv4 or IPv6 packet whose
destination is --target, sends to that packet's source, from --from, an ICMP
time exceeded (v4 type 11 / v6 type 3, code 0) that quotes the packet (its IP
header and what follows, 128 bytes: cut or zero-padded), sets the RFC 4884
length (32 words v4, 16 v6), and appends an extension structure (version 2,
checksummed) with one MPLS object (class 1, c-type 1) holding --labels, each
with exp 0 and TTL 1, the bottom-of-stack bit on the last. With --labels ""
the quote is sent without length or extension.

The reply goes out through a raw socket (IPv4: IPPROTO_RAW with our own
header, so --from need not be local; IPv6: a raw ICMPv6 socket bound to
--from, which must then be an address of this namespace). The packet itself
is left to the kernel: forwarded, dropped by a rule or delivered as the test
arranges (typically an nftables rule drops what is forwarded to --target, so
that only our answer comes back).

It prints "ready" on stdout once it listens, one line per answer on stderr,
and exits 0 on SIGTERM / SIGINT or after --max-seconds.

Usage:
  ip netns exec router python3 tests/lab/icmp_mpls_responder.py \\
      --interface veth-r1 --target 198.18.9.9 --from 198.18.1.1 \\
      --labels 16001,24005 --max-seconds 30
  python3 tests/lab/icmp_mpls_responder.py --self-test   (no root, no network)
"""

import argparse
import ipaddress
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
ORIGINAL_DATAGRAM = 128  # RFC 4884: the quote padded to at least this


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mpls_extension(labels):
    """An RFC 4884 extension structure with one RFC 4950 MPLS object."""
    entries = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        entries += struct.pack("!I", (label & 0xFFFFF) << 12 | 0 << 9 | bottom << 8 | 1)
    obj = struct.pack("!HBB", 4 + len(entries), 1, 1) + entries
    header = struct.pack("!BBH", 0x20, 0, 0)
    sum_ = checksum(header + obj)
    return struct.pack("!BBH", 0x20, 0, sum_) + obj


def quote_of(packet: bytes, labels) -> bytes:
    """The original datagram field: cut or padded to 128 bytes with labels."""
    quote = packet[:ORIGINAL_DATAGRAM]
    if not labels:
        return quote
    return quote.ljust(ORIGINAL_DATAGRAM, b"\0")


def time_exceeded_v4(packet: bytes, src: str, labels) -> bytes:
    """An IPv4 packet (header included) from `src` to `packet`'s source."""
    quote = quote_of(packet, labels)
    length_words = len(quote) // 4 if labels else 0
    body = quote + (mpls_extension(labels) if labels else b"")
    icmp = struct.pack("!BBHBBH", 11, 0, 0, 0, length_words, 0) + body
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    dst = packet[12:16]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(icmp), 0, 0, 64, 1, 0,
                         socket.inet_aton(src), dst)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + icmp


def time_exceeded_v6(packet: bytes, labels) -> bytes:
    """An ICMPv6 message (the kernel adds the header and the checksum)."""
    quote = quote_of(packet, labels)
    length_words = len(quote) // 8 if labels else 0
    body = quote + (mpls_extension(labels) if labels else b"")
    return struct.pack("!BBHBBH", 3, 0, 0, length_words, 0, 0) + body


def ip_packet_of(frame: bytes):
    """(version, packet) of an Ethernet frame holding IPv4 / IPv6, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack("!H", frame[12:14])[0]
    packet = frame[14:]
    if ethertype == ETH_P_IP and len(packet) >= 20 and packet[0] >> 4 == 4:
        return 4, packet[: struct.unpack("!H", packet[2:4])[0]]
    if ethertype == ETH_P_IPV6 and len(packet) >= 40 and packet[0] >> 4 == 6:
        return 6, packet[: 40 + struct.unpack("!H", packet[4:6])[0]]
    return None


def self_test():
    """Builds answers and checks them byte by byte: no root, no network."""
    probe = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0x4242, 0, 1, 17, 0,
                        socket.inet_aton("198.18.0.10"),
                        socket.inet_aton("198.18.9.9")) + struct.pack(
                            "!HHHH", 33434, 33435, 20, 0) + bytes(12)
    reply = time_exceeded_v4(probe, "198.18.1.1", [16001, 24005])
    assert checksum(reply[:20]) == 0, "IP header checksum"
    icmp = reply[20:]
    assert checksum(icmp) == 0, "ICMP checksum"
    assert icmp[0] == 11 and icmp[5] == 32, "type and RFC 4884 length"
    assert icmp[8:8 + 40] == probe and icmp[48:136] == bytes(88), "the quote"
    ext = icmp[136:]
    assert ext[0] == 0x20 and checksum(ext) == 0, "extension header"
    assert struct.unpack("!HBB", ext[4:8]) == (12, 1, 1), "MPLS object"
    first, last = struct.unpack("!II", ext[8:16])
    assert (first >> 12, first >> 8 & 1, first & 0xFF) == (16001, 0, 1)
    assert (last >> 12, last >> 8 & 1, last & 0xFF) == (24005, 1, 1)
    v6 = time_exceeded_v6(bytes([0x60]) + bytes(39), [3])
    assert v6[0] == 3 and v6[4] == 16 and len(v6) == 8 + 128 + 12
    print("self-test ok")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interface", help="where the probes arrive")
    parser.add_argument("--target", help="answer packets to this address")
    parser.add_argument("--from", dest="source", help="the answer's source address")
    parser.add_argument("--labels", default="16001",
                        help="comma-separated MPLS labels, top first ('' for none)")
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if not args.self_test and not (args.interface and args.target and args.source):
        parser.error("--interface, --target and --from are required")
    return args


def main(argv):
    args = parse_args(argv)
    if args.self_test:
        self_test()
        return 0
    labels = [int(x) for x in args.labels.split(",") if x.strip()]
    target = ipaddress.ip_address(args.target)
    source = ipaddress.ip_address(args.source)
    if target.version != source.version:
        print("--target and --from must be of one family", file=sys.stderr)
        return 2

    stopping = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.append(True))

    listener = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    listener.bind((args.interface, 0))
    if target.version == 4:
        sender = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    else:
        sender = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        sender.bind((str(source), 0))
    print("ready", flush=True)

    deadline = time.monotonic() + args.max_seconds
    with listener, sender:
        while not stopping:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                readable, _, _ = select.select([listener], [], [], min(left, 0.2))
            except InterruptedError:
                continue
            if not readable:
                continue
            frame, address = listener.recvfrom(65535)
            if address[2] == PACKET_OUTGOING:
                continue
            parsed = ip_packet_of(frame)
            if parsed is None or parsed[0] != target.version:
                continue
            version, packet = parsed
            if version == 4:
                if packet[16:20] != target.packed:
                    continue
                to = socket.inet_ntoa(packet[12:16])
                sender.sendto(time_exceeded_v4(packet, str(source), labels), (to, 0))
            else:
                if packet[24:40] != target.packed:
                    continue
                to = socket.inet_ntop(socket.AF_INET6, packet[8:24])
                sender.sendto(time_exceeded_v6(packet, labels), (to, 0))
            print(f"answered {to} with labels {labels}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
