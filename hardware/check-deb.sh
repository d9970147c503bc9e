#!/usr/bin/env bash
# Checks a built busbar .deb (cargo deb): its file list and modes against the list below, its
# conffiles, that its maintainer scripts neither enable nor start the service, that the packaged
# unit, config and guide are this repository's, that the binary runs, and systemd-analyze verify
# on the unit inside the package tree (with the host's units beside it), failing on any output.
#
#   hardware/check-deb.sh target/debian/busbar_*.deb
set -euo pipefail

deb=$(realpath "${1:?usage: $0 PACKAGE.deb}")
repo=$(cd "$(dirname "$0")/.." && pwd)
fail() { echo "check-deb: $*" >&2; exit 1; }

# 1. Contents: "mode path", directories included, sorted. The timestamps and sizes are not ours
#    to pin; the modes and paths are.
expected=$(sort <<'LIST'
drwxr-xr-x ./etc/
drwxr-xr-x ./etc/busbar/
-rw-r--r-- ./etc/busbar/busbar.toml
drwxr-xr-x ./usr/
drwxr-xr-x ./usr/bin/
-rwxr-xr-x ./usr/bin/busbar
drwxr-xr-x ./usr/lib/
drwxr-xr-x ./usr/lib/systemd/
drwxr-xr-x ./usr/lib/systemd/system/
-rw-r--r-- ./usr/lib/systemd/system/busbar.service
drwxr-xr-x ./usr/share/
drwxr-xr-x ./usr/share/doc/
drwxr-xr-x ./usr/share/doc/busbar/
-rw-r--r-- ./usr/share/doc/busbar/README.md
-rw-r--r-- ./usr/share/doc/busbar/copyright
-rw-r--r-- ./usr/share/doc/busbar/hardware.md
drwxr-xr-x ./usr/share/doc/busbar/examples/
-rw-r--r-- ./usr/share/doc/busbar/examples/80-can0.link
-rw-r--r-- ./usr/share/doc/busbar/examples/80-can0.network
-rw-r--r-- ./usr/share/doc/busbar/examples/99-busbar-serial.rules
-rw-r--r-- ./usr/share/doc/busbar/examples/busbar.example.toml
LIST
)
actual=$(dpkg-deb -c "$deb" | awk '{print $1, $6}' | sort)
if [ "$expected" != "$actual" ]; then
    echo "check-deb: contents differ from the expected list (< expected, > actual):" >&2
    diff <(echo "$expected") <(echo "$actual") >&2 || true
    exit 1
fi
echo "check-deb: contents: $(echo "$actual" | wc -l) entries as expected"

# 2. Control files.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -e "$deb" "$tmp/control"
[ "$(cat "$tmp/control/conffiles")" = "/etc/busbar/busbar.toml" ] ||
    fail "conffiles is not exactly /etc/busbar/busbar.toml: $(cat "$tmp/control/conffiles")"
[ "$(dpkg-deb -f "$deb" Package)" = busbar ] || fail "Package is not busbar"
dpkg-deb -f "$deb" Depends | grep -q 'libc6' || fail "Depends has no libc6 (\$auto not resolved?)"
# Not started on install: no start, no unconditional enable (only "was-enabled" re-enables an
# upgraded unit the admin had enabled); a running busbar is restarted on upgrade and stopped
# on removal.
postinst=$tmp/control/postinst
[ -f "$postinst" ] || fail "no postinst (maintainer-scripts not set?)"
! grep -Eq 'deb-systemd-invoke (start|restart) |systemctl[^|]* (start|enable) ' "$postinst" ||
    fail "postinst starts or enables busbar: $(grep -E 'start|enable' "$postinst")"
[ "$(grep -c 'deb-systemd-helper enable' "$postinst")" = "$(grep -c 'was-enabled' "$postinst")" ] ||
    fail "postinst enables busbar without was-enabled"
grep -q 'deb-systemd-invoke try-restart busbar.service' "$postinst" || fail "postinst does not try-restart on upgrade"
grep -q 'deb-systemd-invoke stop busbar.service' "$tmp/control/prerm" || fail "prerm does not stop busbar on removal"
echo "check-deb: conffiles /etc/busbar/busbar.toml; maintainer scripts: not enabled or started on install, restarted on upgrade, stopped on removal"

# 3. The packaged files are the repository's.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
for pair in "usr/lib/systemd/system/busbar.service hardware/busbar.service" \
            "etc/busbar/busbar.toml config/busbar.example.toml" \
            "usr/share/doc/busbar/hardware.md hardware/README.md" \
            "usr/share/doc/busbar/examples/99-busbar-serial.rules hardware/99-busbar-serial.rules" \
            "usr/share/doc/busbar/examples/80-can0.network hardware/80-can0.network" \
            "usr/share/doc/busbar/examples/80-can0.link hardware/80-can0.link"; do
    set -- $pair
    cmp -s "$root/$1" "$repo/$2" || fail "/$1 in the package is not $2"
done
if [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ]; then
    "$root/usr/bin/busbar" --help >/dev/null || fail "/usr/bin/busbar --help failed"
    "$root/usr/bin/busbar" check-config "$root/etc/busbar/busbar.toml" >/dev/null ||
        fail "the packaged busbar rejects the packaged config"
    echo "check-deb: /usr/bin/busbar runs and accepts /etc/busbar/busbar.toml"
fi

# 4. systemd-analyze verify inside the package tree: --root resolves ExecStart=/usr/bin/busbar
#    in the tree; the host's units (sysinit.target, network.target, ...) are copied beside ours
#    without replacing it. Any output fails.
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (apt-get install systemd)"
host_units=/usr/lib/systemd/system
[ -f "$host_units/sysinit.target" ] || host_units=/lib/systemd/system
cp -rn "$host_units/." "$root/usr/lib/systemd/system/"
cmp -s "$root/usr/lib/systemd/system/busbar.service" "$repo/hardware/busbar.service" || fail "unit replaced by the host's"
status=0
out=$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify --root="$root" busbar.service 2>&1) || status=$?
if [ "$status" -ne 0 ] || [ -n "$out" ]; then
    echo "check-deb: systemd-analyze verify --root=<package> busbar.service (exit $status):" >&2
    printf '%s\n' "$out" >&2
    exit 1
fi
echo "check-deb: systemd-analyze verify on the packaged unit: no findings"
echo "check-deb: $(basename "$deb") OK"
