#!/usr/bin/env bash
# Writes the request_fuzzer's seed corpus (tests/fuzz/corpus/request_fuzzer):
# a selector byte (request_fuzzer.cc: 0 Ping, 1 TcpConnect, 2 UdpEcho,
# 3 Broadcast, 4 Multicast, 5 Capture, 6 Sockets, 7 AgentConfig, 8 Traceroute,
# 9 Throughput;
# +128 checks valid plans against tight policy limits) and the request
# serialized by `protoc --encode` from the text below. Run it after changing
# the seeds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$root/tests/fuzz/corpus/request_fuzzer
mkdir -p "$dir"
# seed NAME SELECTOR MESSAGE TEXT
seed() {
  { printf '%b' "\\x$(printf %02x "$2")"
    protoc -I"$root/proto" --encode="netprobe.v1.$3" \
      "$root"/proto/netprobe/v1/*.proto <<<"$4"; } >"$dir/$1"
}
seed ping_two_targets 0 PingRequest \
  'targets: "127.0.0.1" targets: "::1" count: 3 interval { nanos: 200000000 }
   timeout { seconds: 1 } size: 56 rate_limit: 100'
seed ping_options_v6 128 PingRequest \
  'targets: "2001:db8::1" targets: "host.example" family: ADDRESS_FAMILY_IPV6
   options { ttl: 64 tos: 16 dont_fragment: DONT_FRAGMENT_SET interface: "lo" }'
seed ping_bad_family 0 PingRequest 'targets: "127.0.0.1" family: ADDRESS_FAMILY_IPV6'
seed tcp_connect_many 1 TcpConnectRequest \
  'targets: "127.0.0.1:80" targets: "[::1]:443" targets: "web:22" count: 5
   interval {} timeout { seconds: 3 } concurrency: 10 tcp_info: true
   send_payload: "GET / HTTP/1.0\r\n\r\n" read_bytes: 512 graceful_close: true'
seed tcp_connect_keepalive 129 TcpConnectRequest \
  'targets: "127.0.0.1:22" options { tcp_nodelay: true tcp_keepalive_idle { seconds: 30 }
   send_buffer: 65536 receive_buffer: 65536 priority: 3 source_address: "127.0.0.1" }'
seed udp_echo 2 UdpEchoRequest \
  'target: "127.0.0.1:7" count: 10 interval { nanos: 10000000 } timeout { seconds: 1 }
   size: 64'
seed udp_echo_v6 130 UdpEchoRequest \
  'target: "[::1]:7" family: ADDRESS_FAMILY_IPV6 count: 1 size: 1400
   options { ttl: 1 source_address: "::1" source_port: 4000 }'
seed traceroute_udp 8 TracerouteRequest \
  'target: "198.18.3.2" port: 33434 first_ttl: 1 max_ttl: 30 probes_per_hop: 3
   wait { seconds: 5 } packet_length: 60 flows: 4 options { tos: 16 }'
seed traceroute_icmp_v6 136 TracerouteRequest \
  'target: "2001:db8::1" method: TRACEROUTE_METHOD_ICMP family: ADDRESS_FAMILY_IPV6
   first_ttl: 2 max_ttl: 255 probes_per_hop: 10 flows: 64 packet_length: 59'
seed traceroute_tcp 8 TracerouteRequest \
  'target: "198.18.3.2" method: TRACEROUTE_METHOD_TCP port: 443 max_ttl: 16 flows: 8
   wait { seconds: 2 } options { source_address: "198.18.0.1" }'
seed traceroute_mtr_v6 136 TracerouteRequest \
  'target: "2001:db8::1" rounds: 200 interval { nanos: 50000000 } max_silent_hops: 3
   resolve: true flow_label: 12345 family: ADDRESS_FAMILY_IPV6'
seed traceroute_path_mtu 8 TracerouteRequest \
  'target: "198.18.3.2" path_mtu: true packet_length: 1500 max_ttl: 8
   options { dont_fragment: DONT_FRAGMENT_SET }'
seed throughput_tcp 9 ThroughputRequest \
  'target: "198.18.0.11" duration { seconds: 5 } parallel: 4 window: 262144
   congestion: "cubic" mss: 1400 omit { seconds: 1 } interval { nanos: 500000000 }'
seed throughput_udp_bidir 137 ThroughputRequest \
  'target: "[2001:db8::1]:5202" protocol: PROTOCOL_UDP direction: DIRECTION_BOTH
   bitrate: 50000000 length: 1200 options { tos: 16 source_port: 5300 }'
seed throughput_bytes_reverse 9 ThroughputRequest \
  'target: "iperf.example" bytes: 1073741824 direction: DIRECTION_RECEIVE
   options { send_buffer: 4096 }'
seed broadcast_eth0 3 BroadcastRequest \
  'interface: "eth0" port: 7 payload: "hello" window { nanos: 300000000 }'
seed broadcast_limited 131 BroadcastRequest \
  'interface: "eth0" port: 9 address: "255.255.255.255" options { interface: "eth0" ttl: 1 }'
seed multicast_asm 4 MulticastRequest \
  'group: "239.1.2.3" port: 5000 count: 3 duration { seconds: 10 } max_payload: 64'
seed multicast_ssm_send 132 MulticastRequest \
  'group: "ff3e::8000:1" port: 5000 interface: "lo" source: "2001:db8::5" send: true
   send_payload: "x" send_interval { nanos: 5000000 } send_ttl: 4 loopback: true'
seed capture_filter 5 CaptureRequest \
  'interface: "any" filter: "tcp port 80 and host 127.0.0.1" snaplen: 96 max_packets: 10
   duration { seconds: 5 } max_bytes: 1000000'
seed capture_lo 133 CaptureRequest \
  'interface: "lo" promiscuous: true include_own_traffic: true'
seed sockets_listening 6 SocketsRequest \
  'protocols: SOCKET_PROTOCOL_TCP protocols: SOCKET_PROTOCOL_UDP listening_only: true
   processes: true'
seed sockets_filters 6 SocketsRequest \
  'states: "established" states: "syn-sent" local: "127.0.0.0/8" remote: "2001:db8::/32"
   port: 22 family: ADDRESS_FAMILY_IPV4 tcp_info: true watch_interval { seconds: 1 }'
seed sockets_unix 6 SocketsRequest 'protocols: SOCKET_PROTOCOL_UNIX states: "all"'
seed config_schedule_policy 7 AgentConfig \
  'listen: "127.0.0.1:7431"
   policy { enabled_probes: "Ping" enabled_probes: "Capture" allow: "127.0.0.0/8"
     deny: "169.254.169.254/32" limits { targets_per_request: 4 max_payload: 100
       max_duration { seconds: 60 } min_interval { nanos: 100000000 }
       capture_interfaces: "lo" }
     identities { identity: "token:fuzz" enabled_probes: "Ping"
       limits { targets_per_request: 1 max_duration { seconds: 5 } } } }
   scheduled_probes { name: "ping_lo" interval { seconds: 10 } labels { key: "site" value: "a" }
     ping { targets: "127.0.0.1" count: 3 } }
   scheduled_probes { name: "tcp_lo" interval { seconds: 30 } tcp_connect { targets: "127.0.0.1:22" } }
   scheduled_probes { name: "udp_lo" udp_echo { target: "127.0.0.1:7" count: 2 } }
   modules { name: "icmp" timeout { seconds: 5 } ping { count: 1 } }
   modules { name: "tcp" tcp_connect { targets: "x:1" } }'
seed config_rule_star 7 AgentConfig \
  'policy { deny_nothing: true identities { identity: "*" limits { capture_interfaces: "eth0" } } }'
ls "$dir"
