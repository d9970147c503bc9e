#!/usr/bin/env bash
# Proves the VM harness end to end: boots the guest, runs smoke-guest.sh there (real iproute2,
# two host glibc binaries with their libraries, a pty pair, candump/cansend on vcan0 across a
# link down/up) and checks the candump log it ships back.
# Usage: tests/vm/smoke.sh          (exit 0 = harness works; output dir printed at the end)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

fail() { printf 'SMOKE FAIL: %s\n' "$*" >&2; exit 1; }

command -v cc >/dev/null 2>&1 || fail "no C compiler 'cc' (apt-get install gcc) to build ptycheck.c"

work="$repo/target/vm-cache/smoke"
rm -rf "$work"
mkdir -p "$work/out"
# A dynamically linked glibc program, like a cargo-built busbar.
cc -O2 -Wall -Wextra -o "$work/ptycheck" "$here/ptycheck.c" || fail "building ptycheck.c"

rc=0
# ptycheck lands at the default /bin/ptycheck; ls shows the FILE:GUEST_PATH form.
VM_OUT="$work/out" "$here/run.sh" "$here/smoke-guest.sh" "$work/ptycheck" /bin/ls:/opt/hostls/ls || rc=$?
[ "$rc" -eq 0 ] || fail "guest script / VM failed with exit status $rc (see output above)"

guest="$work/out/guest.log"
log="$work/out/candump.log"
grep -q '^PTYCHECK OK /dev/pts/' "$guest" || fail "pty check did not pass in the guest"
grep -q '^/opt/hostls$' "$guest" || fail "host /bin/ls did not run in the guest"
grep -q 'vcan numtxqueues' "$guest" || fail "'ip -details' output missing: not the real iproute2?"
[ -f "$log" ] || fail "candump.log was not shipped back"

# candump -L format: "(seconds.micros) vcan0 351#2802E8031C024C01", 3 frames before the
# down/up and 3 after, nothing else.
want='^\([0-9]+\.[0-9]{6}\) vcan0 351#2802E8031C024C01$'
n_ok="$(grep -Ec "$want" "$log" || true)"
n_all="$(wc -l <"$log")"
if [ "$n_ok" -ne 6 ] || [ "$n_all" -ne 6 ]; then
    cat "$log" >&2
    fail "expected exactly 6 lines matching $want in candump.log, got $n_ok of $n_all"
fi
# Timestamps must not go backwards.
awk -F'[()]' 'NR > 1 && $2 + 0 < prev { exit 1 } { prev = $2 + 0 }' "$log" \
    || fail "candump timestamps go backwards"

echo "SMOKE OK: 6/6 frames across vcan0 down/up, pty + host glibc binaries work (out: $work/out)"
