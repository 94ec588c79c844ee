#!/usr/bin/python3
"""A constant-delay line between two interfaces: the lab's stand-in for netem.

    delay_line.py --delay-ms MS IFACE_A IFACE_B

Every Ethernet frame that arrives on IFACE_A leaves by IFACE_B MS
milliseconds later, and the other way round: no loss (unless a queue passes
--max-queued-bytes), no reordering, no rate limit of its own (shape the links
with tc tbf). The lab runs it in its switch namespace between the switch-side
ends of two hosts' veths, so the hosts see an RTT of 2 x MS more.

One AF_PACKET SOCK_RAW socket (ETH_P_ALL) bound to each interface, with
PACKET_IGNORE_OUTGOING so it never reads back its own sends; one FIFO per
direction holding (due time, frame); select() sleeps until a socket is
readable or the next frame is due (select, not poll: microsecond timeouts);
reads are non-blocking and in batches. Sends are batched too: it sleeps
until --batch-us (250 us) after the next frame's due time and sends every
frame due by then, so a 100 Mbit/s stream costs a wakeup per few frames,
not one per frame (CPU measured at 100 Mbit/s, 8.3 kframes/s plus ACKs:
~60 % of a core one wakeup per frame, ~40 % batched). A frame thus leaves
between MS and MS + 0.25 ms after it came, never early. The delay counts
from the kernel's receive timestamp (SO_TIMESTAMPNS), so a late wakeup of
this process does not add to it.

Frames larger than the interface MTU (TSO/GSO super-frames) cannot be sent
on a packet socket, and a frame whose checksum the sender left to offload
(CHECKSUM_PARTIAL) would arrive with a wrong one: the lab turns tx
checksumming, TSO, GSO and GRO off on the veths of the path
(`ethtool -K DEV tx off tso off gso off gro off`). Such frames are counted
("oversize") and dropped, never sent.

It asks for SCHED_FIFO (--priority, default 20; 0: stay a normal process):
on a loaded machine a normal process wakes up milliseconds late (measured
on 2 busy cores: ping RTT through a 10 ms line 20..53 ms as a normal
process, 20.15..20.25 ms at SCHED_FIFO). It sleeps in select() between
frames, so it cannot hog a CPU; without the privilege it stays a normal
process and says so on stderr.

Prints "ready" on stdout once both sockets are bound; on SIGTERM (or SIGINT)
prints its counters on stderr and exits 0; exits too once its parent is gone
and no frame has come for a second (what the killed lab ran can finish).
"""

import argparse
import collections
import errno
import os
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_IGNORE_OUTGOING = 23
SO_RCVBUFFORCE = 33
SO_SNDBUFFORCE = 32
SO_TIMESTAMPNS = 35
SCM_TIMESTAMPNS = SO_TIMESTAMPNS
BATCH = 256  # frames read from one socket per wakeup at most
SOCKET_BUFFER = 8 << 20  # a few ms of scheduling latency at 10 Gbit/s


class Terminated(Exception):
    pass


def on_signal(signum, frame):
    raise Terminated()


def open_socket(ifname):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, SOCKET_BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, SOCKET_BUFFER)
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind((ifname, ETH_P_ALL))
    # Frames that arrived between socket() and bind() may be from any
    # interface: drop them.
    sock.setblocking(False)
    while True:
        try:
            sock.recv(65536)
        except BlockingIOError:
            break
    return sock


class Direction:
    """Frames read on `source`, waiting to leave by `sink`."""

    def __init__(self, name, source, sink, mtu):
        self.name = name
        self.source = source
        self.sink = sink
        self.max_frame = mtu + 14 + 4  # Ethernet header and a VLAN tag
        self.queue = collections.deque()  # (due, frame)
        self.queued_bytes = 0
        self.forwarded = 0
        self.dropped_oversize = 0
        self.dropped_full = 0
        self.dropped_send = 0

    def read(self, delay, max_queued):
        """Reads up to BATCH frames; returns how many."""
        anc_size = socket.CMSG_SPACE(16)
        source = self.source
        queue = self.queue
        for count in range(BATCH):
            try:
                frame, ancdata, _, _ = source.recvmsg(65536, anc_size)
            except BlockingIOError:
                return count
            due = None
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == SCM_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", data[:16])
                    due = sec + nsec * 1e-9 + delay
            if due is None:
                due = time.time() + delay
            if len(frame) > self.max_frame:
                self.dropped_oversize += 1
                continue
            if self.queued_bytes + len(frame) > max_queued:
                self.dropped_full += 1
                continue
            # Kernel timestamps of one socket never go backward; keep the
            # FIFO's due times monotonic anyway (order is what matters).
            if queue and due < queue[-1][0]:
                due = queue[-1][0]
            queue.append((due, frame))
            self.queued_bytes += len(frame)
        return BATCH

    def send_due(self, now):
        """Sends the frames due by `now`. Returns False when the socket's
        send buffer is full (wait for it to be writable)."""
        queue = self.queue
        sink = self.sink
        while queue and queue[0][0] <= now:
            frame = queue[0][1]
            try:
                sink.send(frame)
                self.forwarded += 1
            except BlockingIOError:
                return False
            except OSError as e:
                # ENOBUFS: a qdisc on the way out dropped it (a shaped link's
                # queue is full); ENETDOWN and the like: the link went away.
                if e.errno not in (errno.ENOBUFS, errno.ENETDOWN, errno.ENXIO,
                                   errno.EMSGSIZE):
                    raise
                self.dropped_send += 1
            queue.popleft()
            self.queued_bytes -= len(frame)
        return True

    def counters(self):
        return (f"{self.name}: forwarded {self.forwarded} dropped oversize "
                f"{self.dropped_oversize} full {self.dropped_full} send "
                f"{self.dropped_send} queued {len(self.queue)}")


def mtu_of(ifname):
    with open(f"/sys/class/net/{ifname}/mtu") as f:
        return int(f.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay-ms", type=float, required=True,
                        help="one-way delay added to every frame")
    parser.add_argument("--max-queued-bytes", type=int, default=64 << 20,
                        help="per direction; frames beyond it are dropped")
    parser.add_argument("--batch-us", type=float, default=250,
                        help="a frame may leave this much late, with later ones")
    parser.add_argument("--priority", type=int, default=20,
                        help="SCHED_FIFO priority; 0: a normal process")
    parser.add_argument("iface_a")
    parser.add_argument("iface_b")
    args = parser.parse_args()
    delay = args.delay_ms / 1e3
    batch = args.batch_us / 1e6

    if args.priority > 0:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(args.priority))
        except OSError as e:
            print(f"delay_line: no SCHED_FIFO ({e}); delays may run late",
                  file=sys.stderr)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    a = open_socket(args.iface_a)
    b = open_socket(args.iface_b)
    directions = [
        Direction(f"{args.iface_a}->{args.iface_b}", a, b, mtu_of(args.iface_b)),
        Direction(f"{args.iface_b}->{args.iface_a}", b, a, mtu_of(args.iface_a)),
    ]
    readers = {a.fileno(): directions[0], b.fileno(): directions[1]}
    # A lab killed before its destructor ran leaves this process behind, and
    # it would keep the switch namespace (and the hosts' veths) alive: it
    # exits when its parent is gone.
    parent = os.getppid()
    print("ready", flush=True)

    blocked = set()  # directions waiting for their sink to be writable
    try:
        while True:
            now = time.time()
            next_due = None
            for d in directions:
                if d in blocked:
                    continue
                if not d.send_due(now):
                    blocked.add(d)
                elif d.queue and (next_due is None or d.queue[0][0] < next_due):
                    next_due = d.queue[0][0]
            # Up to `batch` late, with the frames due meanwhile: one wakeup
            # per batch rather than per frame.
            timeout = (1.0 if next_due is None else
                       max(0.0, next_due + batch - time.time()))
            writers = [d.sink for d in blocked]
            readable, writable, _ = select.select([a, b], writers, [], timeout)
            if (next_due is None and not readable and not writable and
                    os.getppid() != parent):
                break  # orphaned (the lab was killed), and idle for 1 s
            for sock in writable:
                blocked = {d for d in blocked if d.sink is not sock}
            for sock in readable:
                readers[sock.fileno()].read(delay, args.max_queued_bytes)
    except Terminated:
        pass
    for d in directions:
        print(d.counters(), file=sys.stderr)
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
