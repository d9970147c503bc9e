#!/bin/bash
# Guest half of tests/vm_socketcan.rs: busbar reads two simulated packs (ptys, real serial
# path) and writes to the real SocketCAN interface vcan0; candump -L records what is on the bus.
# Mid-run vcan0 goes down and up again: busbar must survive and resume. Then SIGTERM: the last
# frame set must carry CCL = DCL = 0 and busbar must exit 0. The host decodes the log.
set -euo pipefail

candump -D -L vcan0 >/tmp/can.log 2>/tmp/candump.err &
cand=$!
for _ in $(seq 100); do
    grep -Eq '^ +vcan0 .* raw$' /proc/net/can/rcvlist_all && break
    sleep 0.1
done

busbar sim --packs 2 >/tmp/sim.ports 2>/tmp/sim.err &
sim=$!
for _ in $(seq 100); do [ "$(wc -l </tmp/sim.ports)" -ge 2 ] && break; sleep 0.1; done
echo "simulated packs: $(tr '\n' ' ' </tmp/sim.ports)"

{
    cat <<'TOML'
[battery]
cells = 16
charge_voltage = 3.45
float_voltage = 3.375
discharge_voltage = 2.90
max_charge_current = 300
max_discharge_current = 350

[timing]
poll_interval = "500ms"
offline_after = "3s"
can_interval = "1s"

[can]
interface = "vcan0"
TOML
    while read -r name port; do
        printf '\n[[pack]]\nname = "%s"\nport = "%s"\nprotocol = "jk-nw"\nmax_charge_current = 60\nmax_discharge_current = 70\n' "$name" "$port"
    done </tmp/sim.ports
} >/tmp/busbar.toml

busbar run --config /tmp/busbar.toml 2>/tmp/busbar.log &
bb=$!

wait_lines() { # wait until the candump log has at least $1 lines of 0x351, at most $2 s
    for _ in $(seq $(($2 * 10))); do
        [ "$(grep -c ' 351#' /tmp/can.log || true)" -ge "$1" ] && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1 frames 0x351"; return 1
}

wait_lines 3 30
echo "MARK down $(date +%s)"
ip link set vcan0 down
sleep 2
ip link set vcan0 up
echo "MARK up $(date +%s)"
before=$(grep -c ' 351#' /tmp/can.log || true)
wait_lines $((before + 3)) 30
kill -0 "$bb" || { echo "busbar died across vcan0 down/up"; cat /tmp/busbar.log; exit 1; }

kill -TERM "$bb"
status=0
wait "$bb" || status=$?
echo "busbar exit status: $status"
sleep 0.3
kill -TERM "$cand"; wait "$cand" || true
kill -TERM "$sim"; wait "$sim" || true

echo "---- busbar log"
cat /tmp/busbar.log
vm-ship /tmp/can.log candump.log
vm-ship /tmp/busbar.log busbar.log
exit "$status"
