#!/usr/bin/env bash
# Flood benchmark: peak memory of onlooker on a capture of millions of distinct one-packet
# flows, with the default --max-flows and with --max-flows 100000 (docs/robustness.md).
#
# usage: bash scripts/flood.sh
# environment:
#   FLOOD_FLOWS  flows (= packets) in the capture (default 5000000)
#   FLOOD_PCAP   where the generated capture goes (default /tmp/onlooker-flood-FLOWS.pcap; it
#                is about 70 bytes per flow, 350 MB for 5 M; reused when it already exists)
#   FLOOD_CMDS   commands to measure (default "flows events")
#   FLOOD_STUN   1: every flow is UDP carrying a STUN Binding request (looks like a call
#                start to the activity model; the worst case for what `events` keeps)
# needs: /usr/bin/time (GNU time, for "Maximum resident set size"), cargo.
# Prints one tab-separated line per run: command, cap, wall seconds, peak RSS (KiB), flows
# created, evicted, peak tracked. It is a report, not a test: it exits 0 whatever it measures.
set -euo pipefail
export LC_ALL=C
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${FLOOD_FLOWS:-5000000}
stun=${FLOOD_STUN:-0}
kind=$([[ $stun == 1 ]] && echo stun || echo plain)
pcap=${FLOOD_PCAP:-/tmp/onlooker-flood-$kind-$n.pcap}
cmds=${FLOOD_CMDS:-flows events}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
[[ -x /usr/bin/time ]] || { echo "flood: needs GNU time at /usr/bin/time" >&2; exit 2; }
(cd "$repo" && cargo build --release --quiet --bin onlooker --example flood)
if [[ ! -s $pcap ]]; then
    "$target_dir/release/examples/flood" "$pcap" "$n" 1 "$kind"
fi
bin=$target_dir/release/onlooker
printf 'command\tmax_flows\twall_s\tpeak_rss_kib\tflows_created\tevicted\tpeak_tracked\n'
for cmd in $cmds; do
    for cap in default 100000; do
        args=("$cmd")
        [[ $cap == default ]] || args+=(--max-flows "$cap")
        log=$(mktemp)
        /usr/bin/time -v "$bin" "${args[@]}" "$pcap" >/dev/null 2>"$log" || true
        rss=$(sed -nE 's/^\s*Maximum resident set size \(kbytes\): ([0-9]+)/\1/p' "$log")
        wall=$(sed -nE 's/^\s*Elapsed \(wall clock\) time.*: (.*)$/\1/p' "$log" |
            awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.1f", s }')
        # The summary line of stderr: "flows ended: idle I, closed C, evicted E, ...; peak tracked P"
        created=$(sed -nE 's/.*decoded into ([0-9]+) flows.*/\1/p' "$log" | head -1)
        evicted=$(sed -nE 's/.*evicted ([0-9]+),.*/\1/p' "$log" | head -1)
        peak=$(sed -nE 's/.*peak tracked ([0-9]+).*/\1/p' "$log" | head -1)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$cap" "$wall" "$rss" "${created:-?}" \
            "${evicted:-?}" "${peak:-?}"
        rm -f "$log"
    done
done
