#!/usr/bin/env bash
# Has udev parse 99-busbar-serial.rules and 80-can0.link and fails on any complaint about them
# (udevadm reports unknown keys and invalid values but exits 0). Needs root and the udev
# package: it installs the two files into /etc for the check and removes them again. For CI and
# throw-away machines; on a real Pi, install them as hardware/README.md says instead.
#
#   sudo hardware/check-udev.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v udevadm >/dev/null || { echo "check-udev: udevadm missing (apt-get install udev)" >&2; exit 1; }

rules=/etc/udev/rules.d/99-busbar-serial.rules
link=/etc/systemd/network/80-can0.link
for f in "$rules" "$link"; do
    [ ! -e "$f" ] || { echo "check-udev: $f exists already; not touching it" >&2; exit 1; }
done
trap 'rm -f "$rules" "$link"' EXIT
install -D -m 644 "$here/99-busbar-serial.rules" "$rules"
install -D -m 644 "$here/80-can0.link" "$link"

# Any tty and any network interface will do: the files are parsed whether they match or not.
tty=$(ls -d /sys/class/tty/* | head -1)
out=$( { udevadm test "$tty" 2>&1 || true; } | grep -F "$rules" | grep -v '^Reading rules file' || true)
[ -z "$out" ] || { echo "check-udev: udev complains about the rules:" >&2; echo "$out" >&2; exit 1; }
udevadm test "$tty" 2>&1 | grep -q "^Reading rules file: $rules" || { echo "check-udev: udev did not read $rules" >&2; exit 1; }

out=$(udevadm test-builtin net_setup_link /sys/class/net/lo 2>&1 || true)
echo "$out" | grep -q "Parsed configuration file \"$link\"" || { echo "check-udev: udev did not parse $link:" >&2; echo "$out" >&2; exit 1; }
bad=$(echo "$out" | grep -F "$link" | grep -v '^Parsed configuration file' || true)
[ -z "$bad" ] || { echo "check-udev: udev complains about the .link file:" >&2; echo "$bad" >&2; exit 1; }
echo "check-udev: 99-busbar-serial.rules and 80-can0.link parsed by $(udevadm --version | head -1 | sed 's/^/udev /') without complaint"
