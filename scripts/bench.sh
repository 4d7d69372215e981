#!/usr/bin/env bash
# Throughput and peak memory of onlooker on a large capture, beside a floor and beside ndpiReader.
#
# Builds (once, cached) the capture that ../shared/bench/make-bench-pcap.sh makes, builds onlooker
# and its floor (examples/floor.rs: libpcap read + etherparse slicing, nothing else), runs each
# measured command BENCH_RUNS times under GNU time, keeps the best wall time and the highest peak
# RSS, and prints a table plus PASS/FAIL lines against the targets of docs/benchmarks.md:
#   onlooker flows >= 0.5 x the floor's packets/s, and its peak RSS < 150 MiB.
# With BENCH_BASELINE (an onlooker binary built from an earlier revision), each onlooker command
# also runs with the baseline, interleaved run by run with the current build (baseline run 1,
# current run 1, baseline run 2, ...) so machine noise hits both alike, and a second table
# compares the two with a PASS/FAIL line per command: the before/after check of a refactor.
# It is a report: it exits 0 even when a target is missed (2 when a tool is missing, 1 on
# other setup errors such as a failed build).
#
# usage: bash scripts/bench.sh
# environment:
#   BENCH_COPIES  copies of the corpus in the capture (default 50: ~4.1 M packets, 1.3 GB)
#   BENCH_DIR     cache directory for the capture (default bench-out/ in the repo, git-ignored)
#   BENCH_PCAP    measure this capture instead of building one (must be Ethernet)
#   BENCH_CORPUS  corpus directory given to the generator (default ../shared/corpus/pcap/ndpi)
#   BENCH_MAKER   the generator (default ../shared/bench/make-bench-pcap.sh)
#   BENCH_RUNS    runs per command (default 3)
#   BENCH_BASELINE  an onlooker binary of an earlier revision to compare the current build with
#                   (default: none, no comparison); copy it out of the target directory first,
#                   since this script rebuilds target/profiling/onlooker
# The binaries are built with the `profiling` profile of Cargo.toml: the release build's code
# with symbols kept, so `perf record` on the same binary explains a figure of the table.
# needs: /usr/bin/time (Debian: time), capinfos (wireshark-common), cargo; to build the capture
# also editcap, mergecap (wireshark-common) and tcprewrite (tcpreplay); optional: ndpiReader
# (libndpi-bin).
set -euo pipefail
export LC_ALL=C   # "." decimal point for awk, printf and $EPOCHREALTIME

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=$(cd "$repo/.." && pwd)/shared
copies=${BENCH_COPIES:-50}
runs=${BENCH_RUNS:-3}
bench_dir=${BENCH_DIR:-$repo/bench-out}
maker=${BENCH_MAKER:-$shared/bench/make-bench-pcap.sh}
corpus=${BENCH_CORPUS:-$shared/corpus/pcap/ndpi}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
baseline=${BENCH_BASELINE:-}
# Targets: see the check lines at the end (and docs/benchmarks.md).

[[ -n ${EPOCHREALTIME:-} ]] || { echo "bench: needs bash 5 or later (for \$EPOCHREALTIME)" >&2; exit 1; }
[[ $copies =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_COPIES must be a positive integer, not '$copies'" >&2; exit 1; }
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "bench: BENCH_RUNS must be a positive integer, not '$runs'" >&2; exit 1; }
if [[ -n $baseline ]]; then
  [[ -f $baseline && -x $baseline ]] ||
    { echo "bench: BENCH_BASELINE=$baseline is not an executable file" >&2; exit 1; }
  baseline=$(realpath "$baseline")   # the runs do not depend on the working directory
fi

if [[ -n ${BENCH_PCAP:-} ]]; then
  pcap=$BENCH_PCAP
elif [[ $copies == 50 ]]; then
  pcap=$bench_dir/bench.pcap
else
  pcap=$bench_dir/bench-$copies.pcap
fi

# --- tools: say exactly which Debian packages are missing, install nothing -------------------
missing=() packages=()
need() { # need COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return
  missing+=("$1")
  [[ " ${packages[*]} " == *" $2 "* ]] || packages+=("$2")
}
need /usr/bin/time time   # GNU time: the shell's `time` keyword cannot report peak RSS
need capinfos wireshark-common
need cargo cargo
if [[ -z ${BENCH_PCAP:-} && ! -s $pcap ]]; then   # the generator's tools
  need editcap wireshark-common
  need mergecap wireshark-common
  need tcprewrite tcpreplay
fi
if (( ${#missing[@]} )); then
  echo "bench: missing ${missing[*]}; install with:" >&2
  echo "  apt-get install -y ${packages[*]}" >&2
  exit 2
fi
if command -v ndpiReader >/dev/null 2>&1; then
  ndpi=$(command -v ndpiReader)
else
  ndpi=
  echo "bench: ndpiReader not found (optional; apt-get install -y libndpi-bin); skipping it" >&2
fi

# --- the capture, built once ------------------------------------------------------------------
if [[ -s $pcap ]]; then
  echo "bench: reusing $pcap"
elif [[ -n ${BENCH_PCAP:-} ]]; then
  echo "bench: BENCH_PCAP=$pcap does not exist or is empty" >&2
  exit 1
else
  [[ -r $maker ]] || { echo "bench: generator not found: $maker (set BENCH_MAKER)" >&2; exit 1; }
  [[ -d $corpus ]] || { echo "bench: corpus not found: $corpus (set BENCH_CORPUS)" >&2; exit 1; }
  mkdir -p "$bench_dir"
  echo "bench: building $pcap ($copies copies of $corpus); this takes a few minutes"
  partial=$pcap.partial.pcap   # renamed only when complete, so an interrupted build is not reused
  rm -f "$partial"
  bash "$maker" "$partial" "$copies" "$corpus"
  mv "$partial" "$pcap"
fi

# --- builds -----------------------------------------------------------------------------------
echo "bench: building onlooker and the floor (profiling profile: release code with symbols)"
(cd "$repo" && cargo build --profile profiling --quiet && cargo build --profile profiling --quiet --example floor)
onlooker=$target_dir/profiling/onlooker
floor=$target_dir/profiling/examples/floor
[[ -x $onlooker && -x $floor ]] || { echo "bench: built binaries not found under $target_dir/profiling" >&2; exit 1; }
if [[ -n $baseline && $baseline -ef $onlooker ]]; then
  echo "bench: BENCH_BASELINE is the binary this script just rebuilt ($onlooker);" \
       "copy the baseline elsewhere before building the new revision" >&2
  exit 1
fi

# --- measuring --------------------------------------------------------------------------------
packets=$(capinfos -c -M "$pcap" | awk -F: '/^Number of packets/ {gsub(/[ \t]/, "", $2); print $2}')
[[ $packets =~ ^[0-9]+$ && $packets -gt 0 ]] || { echo "bench: capinfos could not count packets in $pcap" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
names=() secs=() rss_kib=() notes=()

# run_once NAME CMD...: one run of CMD under GNU time (stdout discarded); sets run_secs (wall
# time), run_kib (peak RSS) and run_status (CMD's exit status, whose stderr tail is shown when it
# is not 0). The wall time is taken by the shell (microseconds) around GNU time, whose own report
# has only centiseconds; GNU time supplies the peak RSS ("Maximum resident set size").
run_once() {
  local name=$1; shift
  local t0 t1
  run_status=0
  t0=$EPOCHREALTIME
  /usr/bin/time -v -o "$tmp/time" "$@" >/dev/null 2>"$tmp/stderr" || run_status=$?
  t1=$EPOCHREALTIME
  if (( run_status != 0 )); then
    echo "bench: '$name' exited with status $run_status; its stderr ends with:" >&2
    tail -n 5 "$tmp/stderr" | sed 's/^/    /' >&2
  fi
  run_secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.6f", b - a}')
  run_kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
  [[ -n $run_secs && $run_kib =~ ^[0-9]+$ ]] ||
    { echo "bench: could not read GNU time's report for '$name'" >&2; cat "$tmp/time" >&2; return 1; }
}
# lower A B: the smaller of two times; an empty A (no run yet) counts as infinite.
lower() { awk -v a="$1" -v b="$2" 'BEGIN{ print (a == "" || b < a) ? b : a }'; }

# measure NAME CMD...: run CMD BENCH_RUNS times; record the lowest wall time and the highest peak
# RSS for the table. A run that exits non-zero is noted in the table.
measure() {
  local name=$1; shift
  local best='' peak=0 note='' i
  for ((i = 1; i <= runs; i++)); do
    printf 'bench: %-20s run %d/%d\n' "$name" "$i" "$runs" >&2
    run_once "$name" "$@"
    if (( run_status != 0 )); then note="exit $run_status"; fi
    best=$(lower "$best" "$run_secs")
    if (( run_kib > peak )); then peak=$run_kib; fi
  done
  names+=("$name") secs+=("$best") rss_kib+=("$peak") notes+=("$note")
}

# has_command BINARY SUBCOMMAND: whether that onlooker binary knows the subcommand (a baseline
# from an earlier revision may predate it).
has_command() { "$1" "$2" --help >/dev/null 2>&1; }

# compare NAME SUBCOMMAND ARGS...: measure `onlooker SUBCOMMAND ARGS...` with the current build;
# with BENCH_BASELINE, also with the baseline, the two interleaved run by run (baseline run 1,
# current run 1, baseline run 2, ...) so load on the machine hits both alike. The current
# build's figures go into the main table, both into the comparison table. Skipped when the
# current build lacks SUBCOMMAND; compared only when the baseline has it too.
cmp_names=() cmp_base_secs=() cmp_base_kib=() cmp_base_notes=() cmp_cur_secs=() cmp_cur_kib=() cmp_cur_notes=()
compare() {
  local name=$1
  has_command "$onlooker" "$2" || return 0
  if [[ -z $baseline ]]; then measure "$name" "$onlooker" "${@:2}"; return; fi
  if ! has_command "$baseline" "$2"; then
    echo "bench: the baseline has no '$2' subcommand; measuring '$name' without comparison" >&2
    measure "$name" "$onlooker" "${@:2}"
    cmp_names+=("$name") cmp_base_secs+=("") cmp_base_kib+=("") cmp_base_notes+=("no '$2' subcommand")
    cmp_cur_secs+=("${secs[-1]}") cmp_cur_kib+=("${rss_kib[-1]}") cmp_cur_notes+=("${notes[-1]}")
    return
  fi
  local b_best='' b_peak=0 b_note='' c_best='' c_peak=0 c_note='' i
  for ((i = 1; i <= runs; i++)); do
    printf 'bench: %-20s run %d/%d (baseline)\n' "$name" "$i" "$runs" >&2
    run_once "$name (baseline)" "$baseline" "${@:2}"
    if (( run_status != 0 )); then b_note="exit $run_status"; fi
    b_best=$(lower "$b_best" "$run_secs")
    if (( run_kib > b_peak )); then b_peak=$run_kib; fi
    printf 'bench: %-20s run %d/%d (current)\n' "$name" "$i" "$runs" >&2
    run_once "$name" "$onlooker" "${@:2}"
    if (( run_status != 0 )); then c_note="exit $run_status"; fi
    c_best=$(lower "$c_best" "$run_secs")
    if (( run_kib > c_peak )); then c_peak=$run_kib; fi
  done
  names+=("$name") secs+=("$c_best") rss_kib+=("$c_peak") notes+=("$c_note")
  cmp_names+=("$name") cmp_base_secs+=("$b_best") cmp_base_kib+=("$b_peak") cmp_base_notes+=("$b_note")
  cmp_cur_secs+=("$c_best") cmp_cur_kib+=("$c_peak") cmp_cur_notes+=("$c_note")
}

# Read the file once so every command starts with it in the page cache.
cat "$pcap" >/dev/null

# The measured commands. Add a line here to measure another one; the first must be the floor.
# onlooker commands go through `compare` (NAME SUBCOMMAND ARGS...) so BENCH_BASELINE covers them.
measure "floor" "$floor" "$pcap"
compare "flows --no-names" flows --no-names "$pcap"
compare "onlooker flows" flows "$pcap"
compare "onlooker events" events "$pcap"
compare "onlooker report" report --format json --tz UTC "$pcap"
if [[ -n $ndpi ]]; then
  measure "ndpiReader -q" "$ndpi" -i "$pcap" -q
fi

# --- report -----------------------------------------------------------------------------------
pps() { awk -v p="$packets" -v s="$1" 'BEGIN{ if (s > 0) printf "%.0f", p / s; else print 0 }'; }
floor_pps=$(pps "${secs[0]}")
bytes=$(stat -c %s "$pcap")

echo
echo "onlooker benchmark — $(date +%F)"
echo "capture : $pcap ($packets packets, $(awk -v b="$bytes" 'BEGIN{printf "%.2f", b / 1e9}') GB)"
echo "machine : $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)," \
     "$(awk '/^MemTotal/ {printf "%.1f GiB RAM", $2 / 1048576}' /proc/meminfo)"
if rev=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null); then
  [[ -z $(git -C "$repo" status --porcelain -- src Cargo.toml Cargo.lock examples) ]] ||
    rev+=" (with uncommitted changes)"
else
  rev="unknown (not a git checkout)"
fi
echo "revision: $rev"
echo "runs    : best wall time of $runs, highest peak RSS of $runs"
if [[ -n $baseline ]]; then
  echo "baseline: $baseline ($("$baseline" --version 2>/dev/null | head -n 1 || true)," \
       "modified $(date -r "$baseline" '+%F %T')), runs interleaved with the current build"
fi
echo
printf '%-20s %9s %12s %10s %9s  %s\n' name seconds packets/s 'RSS MiB' 'x floor' ''
for i in "${!names[@]}"; do
  p=$(pps "${secs[$i]}")
  printf '%-20s %9.3f %12s %10.1f %9.2f  %s\n' "${names[$i]}" "${secs[$i]}" "$p" \
    "$(awk -v k="${rss_kib[$i]}" 'BEGIN{print k / 1024}')" \
    "$(awk -v p="$p" -v f="$floor_pps" 'BEGIN{ if (f > 0) print p / f; else print 0 }')" "${notes[$i]}"
done
echo

# check NAME MIN_RATIO MAX_RSS_MIB: PASS/FAIL lines for one measured command against targets.
check() {
  local i p ratio mib min_ratio=$2 max_rss_mib=$3
  for i in "${!names[@]}"; do
    [[ ${names[$i]} == "$1" ]] || continue
    p=$(pps "${secs[$i]}")
    ratio=$(awk -v p="$p" -v f="$floor_pps" 'BEGIN{ printf "%.2f", (f > 0 ? p / f : 0) }')
    mib=$(awk -v k="${rss_kib[$i]}" 'BEGIN{printf "%.1f", k / 1024}')
    if awk -v r="$ratio" -v m="$min_ratio" 'BEGIN{exit !(r >= m)}'; then
      echo "PASS  $1 throughput: $p packets/s = ${ratio} x floor (target >= $min_ratio x)"
    else
      echo "FAIL  $1 throughput: $p packets/s = ${ratio} x floor (target >= $min_ratio x)"
    fi
    if awk -v m="$mib" -v t="$max_rss_mib" 'BEGIN{exit !(m < t)}'; then
      echo "PASS  $1 peak RSS: $mib MiB (target < $max_rss_mib MiB)"
    else
      echo "FAIL  $1 peak RSS: $mib MiB (target < $max_rss_mib MiB)"
    fi
    [[ -z ${notes[$i]} ]] || echo "FAIL  $1 did not exit cleanly (${notes[$i]})"
  done
}
# Targets: the flow table alone at half the floor ("Capture to flows"); with the dissectors and
# naming at 40% of the floor ("Who is on the other end"); events at 30% within 200 MiB.
check "flows --no-names" 0.5 150
check "onlooker flows" 0.4 150
check "onlooker events" 0.3 200

# --- comparison with BENCH_BASELINE -------------------------------------------------------------
# Tolerance of the before/after check, per command: the current build passes when its best time
# is at most 5% above the baseline's (current/baseline time ratio <= 1.05) and its highest peak
# RSS is at most the baseline's plus 1 MiB allowed for noise (the peak of one and the same binary
# moves between runs with thread timing: how many 1 MiB read batches are in flight). Both are
# tight: judge on the full capture, BENCH_RUNS=3 or more and an idle machine; on a tiny capture
# or a busy machine, re-run a FAIL before blaming the change.
max_ratio=1.05
rss_noise_kib=1024
if (( ${#cmp_names[@]} )); then
  mib() { awk -v k="$1" 'BEGIN{printf "%.1f", k / 1024}'; }
  echo
  echo "comparison with the baseline (best of $runs interleaved runs each)"
  printf '%-20s %10s %10s %8s %9s %9s  %s\n' command 'base s' 'current s' ratio 'base MiB' 'cur MiB' ''
  verdicts=()
  for i in "${!cmp_names[@]}"; do
    n=${cmp_names[$i]} bs=${cmp_base_secs[$i]} bk=${cmp_base_kib[$i]}
    cs=${cmp_cur_secs[$i]} ck=${cmp_cur_kib[$i]}
    note=${cmp_base_notes[$i]:+baseline: ${cmp_base_notes[$i]}}
    if [[ -n ${cmp_cur_notes[$i]} ]]; then note+="${note:+; }current: ${cmp_cur_notes[$i]}"; fi
    if [[ -z $bs ]]; then   # the baseline lacks this subcommand: nothing to compare
      printf '%-20s %10s %10.3f %8s %9s %9s  %s\n' "$n" - "$cs" - - "$(mib "$ck")" "$note"
      verdicts+=("SKIP  $n: $note")
      continue
    fi
    ratio=$(awk -v c="$cs" -v b="$bs" 'BEGIN{ if (b > 0) printf "%.3f", c / b; else print "inf" }')
    printf '%-20s %10.3f %10.3f %8s %9s %9s  %s\n' "$n" "$bs" "$cs" "$ratio" "$(mib "$bk")" "$(mib "$ck")" "$note"
    time_ok=ok rss_ok=ok verdict=PASS
    awk -v r="$ratio" -v m="$max_ratio" 'BEGIN{exit !(r != "inf" && r <= m)}' || time_ok=over verdict=FAIL
    (( ck <= bk + rss_noise_kib )) || rss_ok=over verdict=FAIL
    [[ -z $note ]] || verdict=FAIL   # a run that did not exit cleanly
    verdict+="  $n: time $ratio x baseline ($time_ok, limit $max_ratio), peak RSS $(mib "$ck") MiB"
    verdicts+=("$verdict vs $(mib "$bk") MiB ($rss_ok, limit baseline + 1 MiB)${note:+; $note}")
  done
  echo
  printf '%s\n' "${verdicts[@]}"
fi
exit 0
