#!/usr/bin/env bash
# Build every cargo-fuzz target once, then run them one after the other (one process each,
# at the lowest CPU priority) and append a summary line per target to a log:
#
#   scripts/fuzz-all.sh [SECONDS_PER_TARGET] [LOG]     # defaults: 600, /tmp/onlooker-fuzz/summary.tsv
#
# Needs cargo-fuzz and a Rust toolchain that accepts nightly flags (RUSTC_BOOTSTRAP=1 on
# stable; see fuzz/README.md). The binaries are built once before the first run, so editing
# the sources while the runs go on does not change what is being fuzzed. Seeds come from
# fuzz/corpus/<target>/ (fuzz/seed.sh); the corpus grows in place; crashes go to
# fuzz/artifacts/<target>/. TARGETS overrides the list and order.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
secs="${1:-600}"
work="${FUZZ_WORK:-/tmp/onlooker-fuzz}"
log="${2:-$work/summary.tsv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-fuzz}" RUSTC_BOOTSTRAP=1
targets="${TARGETS:-decode tls_client_hello quic_initial dns stun rtp cert flow_pipeline catalog}"
mkdir -p "$work"
(cd "$here/fuzz" && nice -n 19 cargo fuzz build -O) >"$work/build.log" 2>&1
bin="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"
[ -s "$log" ] || printf 'target\tstarted_utc\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tpeak_rss_mb\tcrashes\n' >"$log"
for t in $targets; do
    d="$work/$t"
    rm -rf "$d" && mkdir -p "$d" "$here/fuzz/corpus/$t" "$here/fuzz/artifacts/$t"
    started="$(date -u +%H:%M:%S)"
    # -jobs=1 -workers=1: one fuzzing process, its output in $d/fuzz-0.log.
    (cd "$d" && nice -n 19 "$bin/$t" "$here/fuzz/corpus/$t" \
        -artifact_prefix="$here/fuzz/artifacts/$t/" -jobs=1 -workers=1 \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1) \
        >"$d/driver.log" 2>&1 || true
    f="$d/fuzz-0.log"
    last="$(grep -E '^#[0-9]+' "$f" | grep -E 'cov:' | tail -1 || true)"
    cov="$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")"
    ft="$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")"
    corp="$(sed -nE 's/.* corp: ([0-9]+\/[0-9a-zA-Z]+).*/\1/p' <<<"$last")"
    rss="$(sed -nE 's/.* rss: ([0-9]+)Mb.*/\1/p' <<<"$last")"
    execs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$f" | tail -1)"
    eps="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$f" | tail -1)"
    rsecs="$(sed -nE 's/.*Done [0-9]+ runs in ([0-9]+) second.*/\1/p' "$f" | tail -1)"
    crashes="$(find "$here/fuzz/artifacts/$t" -type f | wc -l)"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$started" "${rsecs:-?}" "${execs:-?}" \
        "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$crashes" >>"$log"
done
echo done >>"$work/build.log"
