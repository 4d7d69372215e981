#!/usr/bin/env bash
# Live capture under load: replays a corpus capture across a veth pair at rising rates while
# `onlooker live --headless` captures on the other end, and reports per rate packets sent,
# captured, dropped by the kernel, lost by onlooker itself, and onlooker's CPU time. Then checks,
# at the highest rate without any drop, that the live flows match `onlooker flows` on the same
# rewritten file (packets and bytes per 5-tuple).
#
# Needs root, iproute2, tcpreplay (tcprewrite), jq, python3, /usr/bin/time. Everything happens
# in two network namespaces it creates (onl-a, onl-b) joined by a veth pair with addresses
# 10.250.0.1/24 + fd00:250::1/64 and 10.250.0.2/24 + fd00:250::2/64; they are deleted on exit.
#
#   sudo bash scripts/live-load.sh [CAPTURE]
# Environment: PACKETS (packets per rate, default 1000000), RATES (default "50000 200000 top"),
# BUFFER (onlooker --buffer-size in bytes, default libpcap's), ONLOOKER (binary).
set -euo pipefail

cd "$(dirname "$0")/.."
CAPTURE=${1:-../shared/corpus/pcap/ndpi/1kxun.pcap}
PACKETS=${PACKETS:-1000000}
RATES=${RATES:-"50000 200000 top"}
ONLOOKER=${ONLOOKER:-$PWD/target/release/onlooker}
NS_A=onl-a
NS_B=onl-b
WORK=$(mktemp -d /tmp/onl-load.XXXXXX)

[ "$(id -u)" = 0 ] || { echo "live-load.sh: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcprewrite tcpreplay jq python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "live-load.sh: $t is missing" >&2; exit 1; }
done
[ -r "$CAPTURE" ] || { echo "live-load.sh: cannot read $CAPTURE" >&2; exit 1; }
[ -x "$ONLOOKER" ] || cargo build --release --quiet

cleanup() {
  [ -n "${TIME_PID:-}" ] && kill "$TIME_PID" 2>/dev/null || true
  ip netns del "$NS_A" 2>/dev/null || true
  ip netns del "$NS_B" 2>/dev/null || true
  [ -n "${KEEP:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

ip netns add "$NS_A"
ip netns add "$NS_B"
ip -n "$NS_A" link add onl-a type veth peer name onl-b netns "$NS_B"
ip -n "$NS_A" addr add 10.250.0.1/24 dev onl-a
ip -n "$NS_A" addr add fd00:250::1/64 dev onl-a nodad
ip -n "$NS_B" addr add 10.250.0.2/24 dev onl-b
ip -n "$NS_B" addr add fd00:250::2/64 dev onl-b nodad
# Captures taken with offloads hold frames far above 1500 bytes: let them through.
ip -n "$NS_A" link set onl-a mtu 65000
ip -n "$NS_B" link set onl-b mtu 65000
ip -n "$NS_A" link set onl-a up
ip -n "$NS_B" link set onl-b up
MAC_A=$(ip -n "$NS_A" -j link show onl-a | jq -r '.[0].address')
MAC_B=$(ip -n "$NS_B" -j link show onl-b | jq -r '.[0].address')

# Every address into the test subnets (host bits kept), MACs to the veth pair's.
REWRITTEN=$WORK/rewritten.pcap
tcprewrite --infile="$CAPTURE" --outfile="$REWRITTEN" \
  --pnat=0.0.0.0/0:10.250.0.0/24,[::/0]:[fd00:250::/64] \
  --enet-smac="$MAC_A" --enet-dmac="$MAC_B" --fixcsum
IN_FILE=$(tcpreplay -q --topspeed -i lo --loop=1 --preload-pcap "$REWRITTEN" 2>/dev/null \
  | sed -n 's/^Actual: \([0-9]*\) packets.*/\1/p' || true)
# tcpreplay to lo is only used to count frames; fall back to onlooker's count.
[ -n "$IN_FILE" ] || IN_FILE=$("$ONLOOKER" flows --stats "$REWRITTEN" 2>/dev/null | jq -s 'map(select(.stats))[0].stats.frames')
LOOPS=$(( (PACKETS + IN_FILE - 1) / IN_FILE ))
echo "capture $CAPTURE: $IN_FILE frames; $LOOPS loops per rate (~$((LOOPS * IN_FILE)) packets)"
# Only the replayed frames: namespace B's own answers (RSTs, ICMP) come from MAC_B.
FILTER="ether src $MAC_A"
BUF=()
[ -n "${BUFFER:-}" ] && BUF=(--buffer-size "$BUFFER")

printf '%-8s %10s %10s %10s %10s %9s %9s %s\n' rate sent captured kdrops lost cpu_user cpu_sys achieved_pps
BEST=
for rate in $RATES; do
  out=$WORK/live-$rate.ndjson
  ip netns exec "$NS_B" /usr/bin/time -f '%U %S' -o "$WORK/time-$rate" \
    "$ONLOOKER" live -i onl-b --headless -f "$FILTER" "${BUF[@]}" >"$out" 2>"$WORK/err-$rate" &
  TIME_PID=$!
  sleep 1
  case $rate in
    top) speed=(--topspeed) ;;
    *) speed=(--pps="$rate") ;;
  esac
  ip netns exec "$NS_A" tcpreplay -i onl-a "${speed[@]}" --loop="$LOOPS" --preload-pcap \
    "$REWRITTEN" >"$WORK/replay-$rate" 2>&1
  sleep 1
  pkill -INT -P "$TIME_PID" -x onlooker 2>/dev/null || true
  wait "$TIME_PID" || { echo "onlooker failed at $rate:"; cat "$WORK/err-$rate"; exit 1; }
  TIME_PID=
  sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' "$WORK/replay-$rate")
  pps=$(sed -n 's/^Rated: .*, \([0-9.]*\) pps.*/\1/p' "$WORK/replay-$rate" | head -1)
  read -r captured kdrops < <(jq -r 'select(.stats) | "\(.stats.frames) \(.stats.kernel.dropped_by_kernel + .stats.kernel.dropped_by_interface)"' "$out")
  lost=$((sent - captured - kdrops))
  read -r cu cs <"$WORK/time-$rate"
  printf '%-8s %10s %10s %10s %10s %9s %9s %s\n' "$rate" "$sent" "$captured" "$kdrops" "$lost" "$cu" "$cs" "$pps"
  if [ "$kdrops" = 0 ] && [ "$lost" = 0 ]; then BEST=$rate; fi
  cp "$out" "$WORK/keep-$rate.ndjson"
done

if [ -z "$BEST" ]; then
  echo "no rate without drops: flow comparison skipped"
  exit 0
fi
echo "comparing live flows at rate $BEST with onlooker flows on the rewritten file (x$LOOPS)"
"$ONLOOKER" flows "$REWRITTEN" >"$WORK/offline.ndjson" 2>/dev/null
python3 - "$WORK/keep-$BEST.ndjson" "$WORK/offline.ndjson" "$LOOPS" <<'EOF'
import json, sys
from collections import Counter

def totals(path):
    pk, by, recs = Counter(), Counter(), 0
    for line in open(path):
        r = json.loads(line)
        if "proto" not in r:
            continue
        recs += 1
        # Direction-free 5-tuple: a flow split differently (idle timeouts in the original file's
        # time versus the replay's compressed time) still adds up to the same totals.
        key = (r["proto"],) + tuple(sorted([r["client"], r["server"]]))
        pk[key] += r["packets_up"] + r["packets_down"]
        by[key] += r["bytes_up"] + r["bytes_down"]
    return pk, by, recs

live_p, live_b, live_n = totals(sys.argv[1])
off_p, off_b, off_n = totals(sys.argv[2])
loops = int(sys.argv[3])
bad = [k for k in set(live_p) | set(off_p)
       if live_p[k] != loops * off_p[k] or live_b[k] != loops * off_b[k]]
print(f"5-tuples: live {len(live_p)}, file {len(off_p)}; flow records: live {live_n}, file {off_n} (x{loops} loops)")
print(f"packets: live {sum(live_p.values())}, file x{loops} {loops * sum(off_p.values())}; "
      f"bytes: live {sum(live_b.values())}, file x{loops} {loops * sum(off_b.values())}")
for k in sorted(bad)[:10]:
    print(f"  differs {k}: live {live_p[k]} pkts {live_b[k]} B, file x{loops} {loops * off_p[k]} pkts {loops * off_b[k]} B")
print("per-5-tuple packets and bytes: " + ("identical" if not bad else f"{len(bad)} differ"))
sys.exit(1 if bad else 0)
EOF
