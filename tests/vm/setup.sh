#!/usr/bin/env bash
# Prepares everything tests/vm/run.sh needs, idempotently:
#   1. Debian packages (qemu, busybox-static, can-utils, iproute2, ...), installed only if missing.
#   2. A Debian kernel (vmlinuz + its unpacked module tree), downloaded once and cached under
#      <repo>/target/vm-cache/kernel/ so later runs need no network at all.
#
# Safe to call before every run: when everything is present it only checks and returns.
# Environment knobs (all optional):
#   VM_KERNEL_PKG   force a kernel package (e.g. linux-image-6.1.0-56-amd64) instead of the one
#                   Debian's linux-image-amd64 metapackage currently depends on.
#   VM_REFRESH=1    throw away the cached kernel and fetch again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$repo/target/vm-cache"
kdir="$cache/kernel"

log() { printf '[vm-setup] %s\n' "$*" >&2; }
die() { printf '[vm-setup] ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs Debian packages with apt-get)"
mkdir -p "$cache"

# Two tests (or two cargo test threads) may call this at once; one lock keeps them from racing on
# apt and on the cache. flock is in util-linux, which every Debian has.
exec 9>"$cache/.setup.lock"
flock -w 900 9 || die "timed out waiting for $cache/.setup.lock"

export DEBIAN_FRONTEND=noninteractive
# Lock timeout: on a fresh machine an unattended apt may hold the lock for a while; wait, don't fail.
apt_opts=(-q -y -o DPkg::Lock::Timeout=300)
apt_updated=0
apt_update() {
    [ "$apt_updated" -eq 0 ] || return 0
    log "apt-get update"
    timeout 600 apt-get "${apt_opts[@]}" update >&2 || die "apt-get update failed"
    apt_updated=1
}

pkg_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]
}

# ---- 1. host packages -------------------------------------------------------------------------
# Each package is named for what run.sh needs from it.
#   qemu-system-x86 (+ seabios it depends on)  the emulator and its BIOS
#   busybox-static  the guest's shell and tools; must be static, it is copied in without libs
#   can-utils       candump / cansend copied into the guest
#   iproute2        ip (busybox's ip cannot create a vcan link)
#   kmod            depmod / modprobe --show-depends to order the CAN modules
#   cpio gzip xz-utils zstd  build the initramfs, decompress .ko.xz / .ko.zst modules
#   coreutils util-linux libc-bin  timeout, base64, flock, ldd (present on Debian, listed for clarity)
wanted=(qemu-system-x86 seabios busybox-static can-utils iproute2 kmod cpio gzip xz-utils zstd
        coreutils util-linux libc-bin)
missing=()
for p in "${wanted[@]}"; do
    pkg_installed "$p" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing: ${missing[*]}"
    # Fresh machines have empty or stale package lists: update first, then install.
    apt_update
    timeout 900 apt-get "${apt_opts[@]}" install --no-install-recommends "${missing[@]}" >&2 \
        || die "apt-get install ${missing[*]} failed"
fi
for c in qemu-system-x86_64 candump cansend ip depmod modprobe cpio gzip xz ldd timeout base64 flock; do
    command -v "$c" >/dev/null 2>&1 || die "'$c' still missing after installing packages"
done
[ -x /bin/busybox ] || die "/bin/busybox missing (package busybox-static)"

# ---- 2. kernel --------------------------------------------------------------------------------
if [ "${VM_REFRESH:-0}" = 1 ]; then
    log "VM_REFRESH=1: dropping cached kernel"
    rm -rf "$kdir"
fi

# The ELF vmlinux inside the bzImage boots about 6 s faster under software emulation: qemu loads
# it directly (PVH entry, CONFIG_PVH) instead of the guest decompressing xz at emulated speed.
# Found like the kernel's scripts/extract-vmlinux: try each compressed-stream magic until one
# decompresses to an ELF. Optional: without it run.sh boots vmlinuz, just slower.
ensure_vmlinux() {
    local name magic off
    local -a tool
    [ -f "$kdir/vmlinux" ] || [ -f "$kdir/.no-vmlinux" ] && return 0
    for name in xz zstd gzip; do
        case "$name" in
            xz) magic=$'\xfd7zXZ'; tool=(xz -dc --single-stream) ;;
            zstd) magic=$'\x28\xb5\x2f\xfd'; tool=(zstd -qdc) ;;
            gzip) magic=$'\x1f\x8b\x08'; tool=(gzip -dc) ;;
        esac
        for off in $(LC_ALL=C grep -obUaF "$magic" "$kdir/vmlinuz" | cut -d: -f1 | head -n 5); do
            tail -c +$((off + 1)) "$kdir/vmlinuz" | "${tool[@]}" >"$kdir/vmlinux.tmp" 2>/dev/null || true
            if [ "$(head -c 4 "$kdir/vmlinux.tmp" | od -An -c | tr -d ' ')" = '177ELF' ]; then
                mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
                log "extracted ELF vmlinux ($name) for direct boot"
                return 0
            fi
        done
    done
    rm -f "$kdir/vmlinux.tmp"
    touch "$kdir/.no-vmlinux"
    log "no ELF vmlinux found in vmlinuz; run.sh will boot the bzImage (slower)"
}

if [ -f "$kdir/.complete" ]; then
    ensure_vmlinux
    exit 0   # cached: no apt-cache query, no network
fi

# Which kernel: whatever Debian's linux-image-amd64 metapackage depends on right now, so the
# version never has to be hard-coded (old ABI packages vanish from the mirrors).
resolve_kernel_pkg() {
    apt-cache depends linux-image-amd64 2>/dev/null \
        | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
pkg="${VM_KERNEL_PKG:-}"
if [ -z "$pkg" ]; then
    pkg="$(resolve_kernel_pkg || true)"
    if [ -z "$pkg" ]; then
        apt_update   # empty package lists on a fresh machine
        pkg="$(resolve_kernel_pkg || true)"
    fi
    [ -n "$pkg" ] || die "cannot resolve linux-image-amd64's kernel package with apt-cache"
fi
log "kernel package: $pkg (from linux-image-amd64)"

work="$(mktemp -d "$cache/kernel-dl.XXXXXX")"
trap 'rm -rf "$work"' EXIT
# apt-get download runs as the _apt user when it can: let it write into the work dir.
chmod 0777 "$work"

download() { (cd "$work" && timeout 600 apt-get "${apt_opts[@]}" download "$pkg" >&2); }
if ! download; then
    # The lists may name a version the mirror no longer has: refresh once and retry.
    apt_update
    download || die "apt-get download $pkg failed"
fi
deb="$(find "$work" -maxdepth 1 -name '*.deb' | head -n1)"
[ -n "$deb" ] || die "apt-get download $pkg produced no .deb"
log "unpacking $(basename "$deb")"
dpkg -x "$deb" "$work/x"

vmlinuz="$(find "$work/x/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)"
[ -n "$vmlinuz" ] || die "no boot/vmlinuz-* in $pkg"
kver="${vmlinuz##*/vmlinuz-}"
# Bookworm ships modules in /lib/modules, later releases in /usr/lib/modules.
mods=""
for d in "$work/x/lib/modules/$kver" "$work/x/usr/lib/modules/$kver"; do
    [ -d "$d" ] && mods="$d" && break
done
[ -n "$mods" ] || die "no lib/modules/$kver in $pkg"

stage="$work/kernel"
mkdir -p "$stage/lib/modules"
mv "$vmlinuz" "$stage/vmlinuz"
cp "$work/x/boot/config-$kver" "$stage/config" 2>/dev/null || true
mv "$mods" "$stage/lib/modules/$kver"
# The .deb ships no modules.dep (the postinst makes it); make it so modprobe can order deps.
depmod -b "$stage" "$kver"
printf '%s\n' "$kver" >"$stage/kver"
printf '%s\n' "$pkg" >"$stage/package"
dpkg-deb -f "$deb" Version >"$stage/version"

touch "$stage/.complete"

rm -rf "$kdir"
mv "$stage" "$kdir"
log "cached kernel $kver ($(cat "$kdir/version")) in $kdir"
ensure_vmlinux
