# Test hosts for live capture, sourced by live-load.sh and soak.sh (not run on its own).
#
# Two network namespaces (onl-a, onl-b) joined by a veth pair, with the test subnets
# 10.250.0.0/16 and fd00:250::/48 (onl-a .0.1 / ::1, onl-b .0.2 / ::2). Both ends are kept
# silent, so that every frame crossing the pair was sent by tcpreplay and the capture counts
# can be compared exactly with tcpreplay's:
# - no IPv6 link-local address (addr_gen_mode 1), no router solicitations, no DAD (nodad):
#   the kernel sends nothing when the link comes up;
# - `arp off` and `multicast off`: no ARP or neighbour answers and no IGMP/MLD reports, even
#   when replayed packets are addressed to a namespace's own address.
# The capture filter is then "not ether src MAC_B": everything that came from onl-a.
# (An "ether src MAC_A" filter misses frames: tcprewrite 4.4.3 puts 33:33:xx:xx:xx:xx, the
# IPv6 multicast MAC of the packet's *source* address, into the source MAC of every IPv6
# packet sent to a multicast group, whatever --enet-smac says; docs/live-load.md.)
#
# Functions: netns_up (sets MAC_A, MAC_B), netns_down, rewrite IN OUT [tcprewrite options].

NS_A=onl-a
NS_B=onl-b

netns_down() {
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
}

netns_up() {
  netns_down
  ip netns add "$NS_A"
  ip netns add "$NS_B"
  ip -n "$NS_A" link add onl-a type veth peer name onl-b netns "$NS_B"
  local ns
  for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$ns.addr_gen_mode=1" \
      "net.ipv6.conf.$ns.accept_ra=0" "net.ipv6.conf.$ns.router_solicitations=0"
    # Captures taken with offloads hold frames far above 1500 bytes: let them through.
    ip -n "$ns" link set "$ns" mtu 65000 arp off multicast off
  done
  ip -n "$NS_A" addr add 10.250.0.1/16 dev onl-a
  ip -n "$NS_A" addr add fd00:250::1/48 dev onl-a nodad
  ip -n "$NS_B" addr add 10.250.0.2/16 dev onl-b
  ip -n "$NS_B" addr add fd00:250::2/48 dev onl-b nodad
  ip -n "$NS_A" link set onl-a up
  ip -n "$NS_B" link set onl-b up
  MAC_A=$(ip -n "$NS_A" -j link show onl-a | jq -r '.[0].address')
  MAC_B=$(ip -n "$NS_B" -j link show onl-b | jq -r '.[0].address')
  FILTER="not ether src $MAC_B"
}

# Every address into the test subnets (host bits kept: 10.250.0.0/24 and fd00:250::/64 unless
# options say otherwise), MACs to the veth pair's, checksums fixed.
rewrite() {
  local in=$1 out=$2
  shift 2
  local v4=${V4_NET:-10.250.0.0/24} v6=${V6_NET:-fd00:250::/64}
  tcprewrite --infile="$in" --outfile="$out" \
    --pnat="0.0.0.0/0:$v4,[::/0]:[$v6]" \
    --enet-smac="$MAC_A" --enet-dmac="$MAC_B" --fixcsum "$@"
}
