#!/usr/bin/env bash
# The main job until `busbar demo` exists: two simulated JK packs on pseudo-terminals, each read
# once through the real serial path with `busbar probe`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/busbar
paths=$(mktemp)
"$bin" sim --packs 2 >"$paths" 2>/dev/null &
sim=$!
trap 'kill $sim 2>/dev/null; rm -f "$paths"' EXIT
# Wait (at most 5 s) for the simulator to print its two ports.
for _ in $(seq 50); do [ "$(wc -l <"$paths")" -ge 2 ] && break; sleep 0.1; done
while read -r name port; do
    echo "== busbar probe --port $port    ($name, simulated)"
    "$bin" probe --port "$port"
    echo
done <"$paths"
read -r _ first <"$paths"
echo "== busbar probe --port $first --json"
"$bin" probe --port "$first" --json
