#!/bin/bash
# Guest half of tests/vm/smoke.sh: runs inside the VM under bash, vcan0 already up.
# Prints what it does; the host side checks the shipped candump log.
set -euo pipefail

frame='351#2802E8031C024C01'

echo "== real iproute2 (not busybox's ip)"
ip -V
ip -details link show vcan0

echo "== glibc binaries copied from the host with their libraries"
ptycheck
# GNU-only options: proves this is the host's ls (libselinux, libpcre2, libc), not busybox's.
/opt/hostls/ls --color=never --directory --quoting-style=literal /opt/hostls

echo "== candump across vcan0 down/up"
# -D: without it candump exits as soon as vcan0 goes down.
candump -D -L vcan0 >/tmp/c.log 2>/tmp/candump.err &
cpid=$!
# cansend before candump's socket is registered would be lost: wait for its rx_all entry.
for _ in $(seq 100); do
    grep -Eq '^ +vcan0 .* raw$' /proc/net/can/rcvlist_all && break
    sleep 0.1
done
grep -Eq '^ +vcan0 .* raw$' /proc/net/can/rcvlist_all || { echo "candump never bound to vcan0"; exit 1; }

for _ in 1 2 3; do cansend vcan0 "$frame"; done
ip link set vcan0 down
ip link set vcan0 up
for _ in 1 2 3; do cansend vcan0 "$frame"; done

# Give candump a moment to take the last frames off its socket, then stop it (SIGTERM makes it
# leave its loop and flush stdout).
sleep 0.5
kill -TERM "$cpid"
wait "$cpid" || { echo "candump exited $?"; cat /tmp/candump.err; exit 1; }
echo "candump stderr: $(cat /tmp/candump.err)"
echo "candump captured $(wc -l </tmp/c.log) lines"

vm-ship /tmp/c.log candump.log
echo "== guest done"
