#!/usr/bin/env bash
# The README's first command: install what is missing (libpcap's headers), build, and run
# onlooker on the synthetic capture bundled in assets/ (no privileges, no files of your own).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! dpkg -s libpcap-dev >/dev/null 2>&1; then
  echo "installing libpcap-dev (needed to build against libpcap)..." >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpcap-dev
  fi
fi
cargo build --release --quiet
if [ -t 0 ] && [ -t 1 ]; then
  # The dashboard on the bundled synthetic capture, at x10 (q quits, ? lists every key).
  exec ./target/release/onlooker demo
fi
# No terminal to draw on: print what the dashboard would show, the report and then the
# activities as a table, each once (the demo is built into the binary: no file is read).
echo "== onlooker demo --report  (a synthetic capture: see assets/README.md)"
./target/release/onlooker demo --report
echo
echo "== onlooker demo --events"
./target/release/onlooker demo --events
