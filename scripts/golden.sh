#!/usr/bin/env bash
# Record what onlooker prints on every corpus capture, so a change that must not change output
# (a refactor) can be checked byte for byte: run it with the binary before and after, then
# `diff -r BEFORE AFTER`.
#
# usage: bash scripts/golden.sh BINARY OUTDIR [CORPUS_DIR]
# For each capture it writes OUTDIR/NAME.{flows,bare.csv,events,report.json} (stdout: flows
# with --stats, flows --no-names as CSV, events, the report as JSON in UTC) and .rc files (exit
# codes); stderr is kept in .err files (statistics and messages).
set -euo pipefail
bin=${1:?usage: golden.sh BINARY OUTDIR [CORPUS_DIR]}
out=${2:?usage: golden.sh BINARY OUTDIR [CORPUS_DIR]}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
corpus=${3:-$repo/../shared/corpus/pcap}
[[ -d $corpus ]] || { echo "golden: corpus not found: $corpus" >&2; exit 2; }
# Absolute, so that runs from two checkouts print the same paths in their messages.
corpus=$(cd "$corpus" && pwd -P)
mkdir -p "$out"
n=0
while IFS= read -r -d '' f; do
  rel=${f#"$corpus"/}
  name=$out/${rel//\//__}
  "$bin" flows --stats "$f" >"$name.flows" 2>"$name.flows.err" && rc=0 || rc=$?
  echo "$rc" >"$name.flows.rc"
  "$bin" flows --no-names --format csv "$f" >"$name.bare.csv" 2>"$name.bare.err" && rc=0 || rc=$?
  echo "$rc" >"$name.bare.rc"
  "$bin" events "$f" >"$name.events" 2>"$name.events.err" && rc=0 || rc=$?
  echo "$rc" >"$name.events.rc"
  "$bin" report --format json --tz UTC "$f" >"$name.report.json" 2>"$name.report.err" && rc=0 || rc=$?
  echo "$rc" >"$name.report.rc"
  n=$((n + 1))
done < <(find "$corpus" -type f -print0 | sort -z)
echo "golden: $n captures written to $out"
