#!/usr/bin/env bash
# Soak: `onlooker live --headless` captures for SOAK_SECONDS while tcpreplay sends a corpus
# capture at RATE packets/s across the veth pair of scripts/live-netns.sh; every SAMPLE seconds
# it prints onlooker's resident set (total, anonymous, file/shared: the kernel's capture ring is
# mapped shared) and the flows it tracks, then the growth after the warm-up and the loss count.
#
# New flows must keep arriving and old ones ending, as in real use, so every loop of the file
# carries other addresses (tcpreplay --unique-ip moves both addresses of each packet by the loop
# number, one up and one down; the file is rewritten into 10.250.128.0/24 and
# fd00:250:0:80::/64 so that the moved addresses stay inside the test subnets 10.250.0.0/16 and
# fd00:250::/48). tcpreplay restarts every CYCLE seconds, so the addresses come back after
# CYCLE seconds: longer than the UDP idle timeout (120 s), so UDP and closed TCP flows end and
# are created again, shorter than the open-TCP timeout (600 s), so the table reaches its
# steady size after the first cycle instead of growing for 10 minutes.
#
#   sudo bash scripts/soak.sh [CAPTURE]
# Environment: SOAK_SECONDS (600), RATE (20000), CYCLE (200), SAMPLE (10), WARMUP (seconds
# after which growth is measured, default CYCLE + 40), BUFFER, ONLOOKER, KEEP=1.
set -euo pipefail

cd "$(dirname "$0")/.."
CAPTURE=${1:-../shared/corpus/pcap/ndpi/1kxun.pcap}
SOAK_SECONDS=${SOAK_SECONDS:-600}
RATE=${RATE:-20000}
CYCLE=${CYCLE:-200}
SAMPLE=${SAMPLE:-10}
WARMUP=${WARMUP:-$((CYCLE + 40))}
ONLOOKER=${ONLOOKER:-$PWD/target/release/onlooker}
WORK=$(mktemp -d /tmp/onl-soak.XXXXXX)
# shellcheck source=scripts/live-netns.sh
source scripts/live-netns.sh

[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (network namespaces)" >&2; exit 1; }
for t in ip tcprewrite tcpreplay jq; do
  command -v "$t" >/dev/null || { echo "soak.sh: $t is missing" >&2; exit 1; }
done
[ -x "$ONLOOKER" ] || cargo build --release --quiet

cleanup() {
  [ -n "${REPLAY_PID:-}" ] && kill "$REPLAY_PID" 2>/dev/null || true
  [ -n "${ONL_PID:-}" ] && kill "$ONL_PID" 2>/dev/null || true
  netns_down
  if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

netns_up
V4_NET=10.250.128.0/24 V6_NET=fd00:250:0:80::/64 rewrite "$CAPTURE" "$WORK/rewritten.pcap"
BUF=()
[ -n "${BUFFER:-}" ] && BUF=(--buffer-size "$BUFFER")
echo "soak: $CAPTURE at $RATE pps for $SOAK_SECONDS s, addresses back every $CYCLE s; $(date -u +%FT%TZ), $(nproc) cores, Linux $(uname -r)"

ip netns exec "$NS_B" "$ONLOOKER" live -i onl-b --headless --progress "$SAMPLE" -f "$FILTER" \
  "${BUF[@]}" >"$WORK/live.ndjson" 2>"$WORK/err" &
ONL_PID=$!
sleep 1
START=$SECONDS
(
  n=0
  while [ $((SECONDS - START)) -lt "$SOAK_SECONDS" ]; do
    left=$((SOAK_SECONDS - (SECONDS - START)))
    [ "$left" -ge 1 ] || break
    n=$((n + 1))
    ip netns exec "$NS_A" tcpreplay -i onl-a --pps="$RATE" --unique-ip --loop=100000000 \
      --duration=$((left < CYCLE ? left : CYCLE)) --preload-pcap "$WORK/rewritten.pcap" \
      >"$WORK/replay-$n" 2>&1 || true
  done
) &
REPLAY_PID=$!

rss() { awk -v k="$1" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$ONL_PID/status"; }
printf '| t s | RSS MiB | anon MiB | file+shared MiB | flows tracked | frames | kernel drops |\n|---|---|---|---|---|---|---|\n'
WARM_RSS= WARM_ANON= WARM_FLOWS=
while kill -0 "$REPLAY_PID" 2>/dev/null; do
  sleep "$SAMPLE"
  t=$((SECONDS - START))
  line=$(grep '^onlooker: [0-9]* s:' "$WORK/err" | tail -1 || true)
  flows=$(sed -n 's/.*flows tracked \([0-9]*\).*/\1/p' <<<"$line")
  frames=$(sed -n 's/.*frames \([0-9]*\),.*/\1/p' <<<"$line")
  drops=$(sed -n 's/.*dropped by kernel \([0-9]*\),.*/\1/p' <<<"$line")
  r=$(rss VmRSS) a=$(rss RssAnon)
  f=$(awk '$1 == "RssFile:" || $1 == "RssShmem:" { s += $2 } END { printf "%.1f", s / 1024 }' "/proc/$ONL_PID/status")
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$r" "$a" "$f" "$flows" "$frames" "$drops"
  if [ -z "$WARM_RSS" ] && [ "$t" -ge "$WARMUP" ]; then WARM_RSS=$r WARM_ANON=$a WARM_FLOWS=$flows; fi
  LAST_RSS=$r LAST_ANON=$a LAST_FLOWS=$flows
done
REPLAY_PID=
sleep 1
kill -INT "$ONL_PID"
wait "$ONL_PID" || { echo "onlooker failed:"; cat "$WORK/err"; exit 1; }
ONL_PID=
sent=$(cat "$WORK"/replay-* | sed -n 's/^[[:space:]]*Successful packets:[[:space:]]*\([0-9]*\).*/\1/p' | paste -sd+ | bc)
read -r captured kdrops peak < <(jq -r 'select(.stats) | "\(.stats.frames) \(.stats.kernel.dropped_by_kernel + .stats.kernel.dropped_by_interface) \(.stats.flows.peak_flows)"' "$WORK/live.ndjson")
records=$(grep -c '"proto"' "$WORK/live.ndjson" || true)
echo
echo "sent $sent, captured $captured, kernel drops $kdrops, lost $((sent - captured - kdrops)); flow records $records; peak tracked $peak"
if [ -n "$WARM_RSS" ]; then
  awk -v w="$WARM_RSS" -v l="$LAST_RSS" -v wa="$WARM_ANON" -v la="$LAST_ANON" -v wf="$WARM_FLOWS" -v lf="$LAST_FLOWS" -v t="$WARMUP" 'BEGIN {
    printf "after warm-up (t >= %d s): RSS %.1f -> %.1f MiB (%+.1f%%), anonymous %.1f -> %.1f MiB (%+.1f%%), flows tracked %d -> %d (%+.1f%%)\n",
      t, w, l, 100 * (l - w) / w, wa, la, 100 * (la - wa) / wa, wf, lf, 100 * (lf - wf) / wf }'
fi
