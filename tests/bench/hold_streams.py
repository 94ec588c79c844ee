#!/usr/bin/python3
"""Holds N concurrent Ping streams open on one agent, from one process.

For tests/bench/run_all.sh: what 1,000 open streams cost the agent (memory per
stream, threads). Each stream is a Ping of one loopback target every
--interval until cancelled (count 0); a stream counts as open once its first
event has arrived. Streams are spread over ceil(N / --per-channel)
connections, since the agent allows 100 concurrent streams per connection by
default (ServerLimits.max_concurrent_streams).

Prints "open N" when all N are open (or "failed ..." and exits 1), then keeps
reading every stream until stdin closes or --seconds pass; then cancels them
all and prints "closed".

Stubs are generated as tests/foreign/foreign_client_test.py does (protoc and
grpc_python_plugin, Debian's python3-grpcio). Run with /usr/bin/python3:

  /usr/bin/python3 tests/bench/hold_streams.py --agent unix:/PATH --streams 1000
"""

import argparse
import asyncio
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "foreign"))

from foreign_client_test import _default_protoc, generate_stubs  # noqa: E402

import grpc  # noqa: E402


async def hold(args, ping_pb2, probes_pb2_grpc):
    channels = []
    per = args.per_channel
    for i in range((args.streams + per - 1) // per):
        # A local subchannel pool: one connection per channel object.
        channels.append(grpc.aio.insecure_channel(
            args.agent, options=[("grpc.use_local_subchannel_pool", 1)]))
    request = ping_pb2.PingRequest(targets=[args.target], count=0)
    request.interval.FromMilliseconds(args.interval_ms)
    calls = []
    opened = asyncio.Event()
    first = 0
    events = 0

    async def read(call):
        nonlocal first, events
        got_first = False
        async for message in call:
            events += len(message.events)
            if not got_first:
                got_first = True
                first += 1
                if first == args.streams:
                    opened.set()

    tasks = []
    for i in range(args.streams):
        stub = probes_pb2_grpc.ProbesStub(channels[i // per])
        call = stub.Ping(request)
        calls.append(call)
        tasks.append(asyncio.ensure_future(read(call)))
    try:
        await asyncio.wait_for(opened.wait(), args.open_timeout)
    except asyncio.TimeoutError:
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        reason = str(failed[0].exception())[:300] if failed else "timeout"
        print("failed: %d of %d open; %s" % (first, args.streams, reason), flush=True)
        for call in calls:
            call.cancel()
        return 1
    print("open %d" % first, flush=True)

    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    await asyncio.wait([stdin_closed], timeout=args.seconds)
    for call in calls:
        call.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for channel in channels:
        await channel.close()
    print("closed (%d events read)" % events, flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", required=True, help="unix:/PATH or HOST:PORT")
    parser.add_argument("--streams", type=int, default=1000)
    parser.add_argument("--per-channel", type=int, default=100)
    parser.add_argument("--target", default="127.0.0.1")
    parser.add_argument("--interval-ms", type=int, default=1000)
    parser.add_argument("--open-timeout", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=120.0,
                        help="the longest the streams are held")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netprobe-hold-") as tmp:
        generate_stubs(_default_protoc(), os.path.join(ROOT, "proto"), tmp)
        sys.path.insert(0, tmp)
        from netprobe.v1 import ping_pb2, probes_pb2_grpc  # noqa: E402
        return asyncio.run(hold(args, ping_pb2, probes_pb2_grpc))


if __name__ == "__main__":
    sys.exit(main())
