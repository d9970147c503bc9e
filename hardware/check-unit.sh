#!/usr/bin/env bash
# systemd-analyze verify on busbar.service, for real: ExecStart= and ExecStartPre= point at a
# freshly built binary instead of /usr/bin/busbar (verify rejects a unit whose command does not
# exist), and ANY output fails the check, because systemd-analyze exits 0 on unknown keys and
# invalid values and only prints them.
#
#   hardware/check-unit.sh target/release/busbar [hardware/busbar.service]
set -euo pipefail

binary=$(realpath "${1:?usage: $0 BUSBAR_BINARY [UNIT]}")
unit=${2:-"$(dirname "$0")/busbar.service"}
[ -x "$binary" ] || { echo "check-unit: $binary is not an executable" >&2; exit 1; }
command -v systemd-analyze >/dev/null || { echo "check-unit: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The file name is the unit name: keep busbar.service.
sed "s#/usr/bin/busbar#${binary}#g" "$unit" >"$tmp/busbar.service"
grep -q "^ExecStart=${binary} run " "$tmp/busbar.service" || { echo "check-unit: no ExecStart=/usr/bin/busbar run in $unit" >&2; exit 1; }

status=0
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$tmp/busbar.service" 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
    echo "check-unit: systemd-analyze verify $unit (exit $status):" >&2
    printf '%s\n' "$out" >&2
    exit 1
fi
echo "check-unit: $unit verified against $binary, no findings ($(systemd-analyze --version | head -1))"
