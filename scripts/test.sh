#!/usr/bin/env bash
# The test command of the README: formatting, lints, then every test in release mode (the corpus
# tests read ../shared/corpus when present and print SKIPPED when not).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --all-targets --release -- -D warnings
cargo test --release --all-targets
