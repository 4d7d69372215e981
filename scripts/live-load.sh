#!/usr/bin/env bash
# Live capture under load: replays a corpus capture across a veth pair at rising rates while
# `onlooker live --headless` captures on the other end, and reports per rate packets sent,
# captured, dropped by the kernel, lost (sent - captured - kernel drops), onlooker's CPU time
# per thread, and the rate tcpreplay achieved. Then compares live flows with `onlooker flows` on
# the same rewritten file:
# - once replayed a single time at COMPARE_RATE: the same flow records (count; per record the
#   5-tuple, packets and bytes each way), IPv4 and IPv6 counted apart;
# - at the highest rate without any loss: per direction-free 5-tuple, packets and bytes equal
#   the file's times the number of loops (flows may merge across loops, so records are not
#   compared there).
#
# Needs root, iproute2, tcpreplay (tcprewrite), jq, python3, /usr/bin/time. Everything happens in
# two network namespaces it creates and deletes (scripts/live-netns.sh).
#
#   sudo bash scripts/live-load.sh [CAPTURE]
# Environment: RATES (packets/s, or "top" for --topspeed; default "50000 200000 1000000 top"),
# SECONDS_PER_RATE (default 30: loops per rate = rate x seconds / frames in the file),
# CAP (default 200000: rates above it and "top" send CAP x SECONDS_PER_RATE packets), BUFFER (onlooker --buffer-size in bytes,
# default onlooker's), COMPARE_RATE (default 20000), ONLOOKER (binary), KEEP=1 (keep the work
# directory).
set -euo pipefail

cd "$(dirname "$0")/.."
CAPTURE=${1:-../shared/corpus/pcap/ndpi/1kxun.pcap}
RATES=${RATES:-"50000 200000 1000000 top"}
SECONDS_PER_RATE=${SECONDS_PER_RATE:-30}
CAP=${CAP:-200000}
COMPARE_RATE=${COMPARE_RATE:-20000}
ONLOOKER=${ONLOOKER:-$PWD/target/release/onlooker}
WORK=$(mktemp -d /tmp/onl-load.XXXXXX)
# shellcheck source=scripts/live-netns.sh
source scripts/live-netns.sh

[ "$(id -u)" = 0 ] || { echo "live-load.sh: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcprewrite tcpreplay jq python3 /usr/bin/time; do
  command -v "$t" >/dev/null || { echo "live-load.sh: $t is missing" >&2; exit 1; }
done
[ -r "$CAPTURE" ] || { echo "live-load.sh: cannot read $CAPTURE" >&2; exit 1; }
[ -x "$ONLOOKER" ] || cargo build --release --quiet

cleanup() {
  [ -n "${TIME_PID:-}" ] && kill "$TIME_PID" 2>/dev/null || true
  netns_down
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

netns_up
REWRITTEN=$WORK/rewritten.pcap
rewrite "$CAPTURE" "$REWRITTEN"
IN_FILE=$("$ONLOOKER" flows --stats "$REWRITTEN" 2>/dev/null | jq -s 'map(select(.stats))[0].stats.frames')
"$ONLOOKER" flows "$REWRITTEN" >"$WORK/offline.ndjson" 2>/dev/null
echo "capture $CAPTURE: $IN_FILE frames; filter \"$FILTER\"; $(date -u +%FT%TZ), $(nproc) cores, Linux $(uname -r)"
BUF=()
[ -n "${BUFFER:-}" ] && BUF=(--buffer-size "$BUFFER")

# run_once NAME SPEED LOOPS: capture while replaying; sets sent, captured, kdrops, lost, pps.
run_once() {
  local name=$1 speed=$2 loops=$3 out=$WORK/live-$1.ndjson
  ip netns exec "$NS_B" /usr/bin/time -f '%U %S' -o "$WORK/time-$name" \
    "$ONLOOKER" live -i onl-b --headless -f "$FILTER" "${BUF[@]}" >"$out" 2>"$WORK/err-$name" &
  TIME_PID=$!
  sleep 1
  local args=(--pps="$speed")
  [ "$speed" = top ] && args=(--topspeed)
  ip netns exec "$NS_A" /usr/bin/time -f '%U %S' -o "$WORK/rtime-$name" \
    tcpreplay -i onl-a "${args[@]}" --loop="$loops" --preload-pcap "$REWRITTEN" >"$WORK/replay-$name" 2>&1
  sleep 1
  local pid
  pid=$(pgrep -P "$TIME_PID" | head -1 || true)
  # CPU seconds per thread (user+system), from /proc before the process ends.
  threads=$(for t in /proc/"$pid"/task/*; do
      awk '{ sub(/^[0-9]+ \(/, ""); n = index($0, ") "); c = substr($0, 1, n - 1); $0 = substr($0, n + 2);
             printf "%s=%.2f ", c, ($12 + $13) / 100 }' "$t/stat"
    done 2>/dev/null || true)
  kill -INT "$pid" 2>/dev/null || true
  wait "$TIME_PID" || { echo "onlooker failed at $name:"; cat "$WORK/err-$name"; exit 1; }
  TIME_PID=
  sent=$(sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' "$WORK/replay-$name")
  failed=$(sed -n 's/^[[:space:]]*Failed packets:[[:space:]]*\([0-9]*\).*/\1/p' "$WORK/replay-$name")
  pps=$(sed -n 's/^Rated: .*, \([0-9.]*\) pps.*/\1/p' "$WORK/replay-$name" | head -1)
  read -r captured kdrops < <(jq -r 'select(.stats) | "\(.stats.frames) \(.stats.kernel.dropped_by_kernel + .stats.kernel.dropped_by_interface)"' "$out")
  lost=$((sent - captured - kdrops))
  read -r cu cs <"$WORK/time-$name"
  read -r ru rs <"$WORK/rtime-$name"
  waits=$(sed -n 's/.*waited for the analysis \([0-9]*\) times.*/\1/p' "$WORK/err-$name")
  # The drop line onlooker itself prints at the end (stderr), shown as it is.
  shown=$(grep -o 'dropped by kernel [0-9]*' "$WORK/err-$name" || echo "no capture line")
}

echo
echo "| rate | loops | sent | captured | kernel drops | lost | onlooker CPU user+sys s (per thread) | queue waits | achieved pps | tcpreplay CPU s | onlooker stderr |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
BEST=
for rate in $RATES; do
  # Whole loops (the flow comparison multiplies the file's counts). Above CAP packets/s, and
  # for "top", as many packets as CAP would send in SECONDS_PER_RATE: tcpreplay on this
  # machine does not reach much more, so the run still lasts about that long.
  r=$rate
  if [ "$r" = top ] || [ "$r" -gt "$CAP" ]; then r=$CAP; fi
  loops=$(( (r * SECONDS_PER_RATE + IN_FILE - 1) / IN_FILE ))
  run_once "$rate" "$rate" "$loops"
  echo "| $rate | $loops | $sent | $captured | $kdrops | $lost | $cu+$cs ($threads) | ${waits:-0} | $pps | $ru+$rs | $shown |"
  [ "${failed:-0}" = 0 ] || echo "  tcpreplay: $failed failed sends"
  if [ "$kdrops" = 0 ] && [ "$lost" = 0 ]; then BEST=$rate; BEST_LOOPS=$loops; fi
done

compare() {
  python3 - "$@" <<'EOF'
import json, sys
from collections import Counter

def records(path):
    out = []
    for line in open(path):
        r = json.loads(line)
        if "proto" in r:
            out.append(r)
    return out

def family(r):
    return "IPv6" if r["client"].startswith("[") else "IPv4"

live, off, mode = records(sys.argv[1]), records(sys.argv[2]), sys.argv[3]
if mode == "records":
    # Each flow record whole: 5-tuple in its orientation, packets and bytes each way.
    key = lambda r: (r["proto"], r["client"], r["server"], r["packets_up"], r["packets_down"],
                     r["bytes_up"], r["bytes_down"])
    lc, oc = Counter(map(key, live)), Counter(map(key, off))
    for fam in ("IPv4", "IPv6"):
        l = [r for r in live if family(r) == fam]
        o = [r for r in off if family(r) == fam]
        print(f"  {fam}: flows live {len(l)}, file {len(o)}; packets live "
              f"{sum(r['packets_up'] + r['packets_down'] for r in l)}, file "
              f"{sum(r['packets_up'] + r['packets_down'] for r in o)}; bytes live "
              f"{sum(r['bytes_up'] + r['bytes_down'] for r in l)}, file "
              f"{sum(r['bytes_up'] + r['bytes_down'] for r in o)}")
    bad = (lc - oc) + (oc - lc)
    for k in sorted(bad)[:10]:
        print(f"  differs: {k}: live {lc[k]}, file {oc[k]}")
    print("  flow records: " + ("identical" if not bad else f"{sum(bad.values())} differ"))
    sys.exit(1 if bad else 0)
loops = int(sys.argv[4])
def totals(rs):
    pk, by = Counter(), Counter()
    for r in rs:
        k = (r["proto"],) + tuple(sorted([r["client"], r["server"]]))
        pk[k] += r["packets_up"] + r["packets_down"]
        by[k] += r["bytes_up"] + r["bytes_down"]
    return pk, by
lp, lb = totals(live)
op, ob = totals(off)
bad = [k for k in set(lp) | set(op) if lp[k] != loops * op[k] or lb[k] != loops * ob[k]]
print(f"  5-tuples: live {len(lp)}, file {len(op)}; packets live {sum(lp.values())}, file x{loops} "
      f"{loops * sum(op.values())}; bytes live {sum(lb.values())}, file x{loops} {loops * sum(ob.values())}")
for k in sorted(bad)[:10]:
    print(f"  differs {k}: live {lp[k]} pkts {lb[k]} B, file x{loops} {loops * op[k]} pkts {loops * ob[k]} B")
print("  per-5-tuple packets and bytes: " + ("identical" if not bad else f"{len(bad)} differ"))
sys.exit(1 if bad else 0)
EOF
}

status=0
echo
echo "one replay at $COMPARE_RATE pps: live flow records against onlooker flows on the rewritten file"
run_once compare "$COMPARE_RATE" 1
echo "  sent $sent, captured $captured, kernel drops $kdrops, lost $lost"
compare "$WORK/live-compare.ndjson" "$WORK/offline.ndjson" records || status=1
if [ -z "$BEST" ]; then
  echo "no rate without loss: the loop comparison is skipped"
else
  echo "rate $BEST ($BEST_LOOPS loops): live totals per 5-tuple against the file's x$BEST_LOOPS"
  compare "$WORK/live-$BEST.ndjson" "$WORK/offline.ndjson" loops "$BEST_LOOPS" || status=1
fi
exit $status
