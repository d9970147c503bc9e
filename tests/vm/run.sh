#!/usr/bin/env bash
# Usage: tests/vm/run.sh GUEST_SCRIPT [FILE[:GUEST_PATH]...]
#
# Boots a throw-away Linux VM (qemu, software emulation) whose /init loads the SocketCAN modules,
# brings up vcan0 and runs GUEST_SCRIPT with bash (the host's, copied in; busybox supplies the
# other tools). See tests/vm/README.md for the details; the short version:
#   - FILE is copied into the guest at GUEST_PATH (default /bin/<basename of FILE>; a GUEST_PATH
#     ending in / is a directory). A dynamically linked ELF (e.g. a cargo-built binary) is copied
#     together with every library ldd lists, at the same paths as on the host.
#   - Everything GUEST_SCRIPT writes to stdout/stderr is printed here after the VM ends, and
#     saved as $VM_OUT/guest.log. The kernel console goes to $VM_OUT/console.log, never mixed in.
#   - In the guest, `vm-ship FILE [NAME]` sends a file to the host: it lands in $VM_OUT/NAME.
#   - The exit status is GUEST_SCRIPT's exit status; 124 = the VM timed out, 125 = the harness
#     itself failed (VM did not boot, setup in the guest failed, no exit status came back).
#
# Environment (all optional):
#   VM_OUT       host dir for guest.log, console.log and shipped files (default target/vm-cache/out,
#                emptied first; give each concurrent run its own VM_OUT)
#   VM_TIMEOUT   seconds the qemu process may run, boot included (default 120)
#   VM_MODULES   extra kernel modules to load, space separated (can, can-raw, can-dev, vcan always)
#   VM_MEM       guest memory (default 512M)
#   VM_KEEP=1    keep the run directory (staged root, initramfs) for inspection
#   VM_APPEND    extra kernel command line (e.g. "loglevel=7" to see more in console.log)
#   VM_QEMU_ARGS extra qemu arguments, space separated
#   VM_KERNEL_FORMAT=bzimage  boot the compressed vmlinuz even when the ELF vmlinux is cached
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="$repo/target/vm-cache"
kdir="$cache/kernel"

# Exit codes of the harness itself (the guest script's own codes pass through unchanged).
EX_TIMEOUT=124
EX_HARNESS=125

log() { printf '[vm-run] %s\n' "$*" >&2; }
die() { printf '[vm-run] ERROR: %s\n' "$*" >&2; exit "$EX_HARNESS"; }

[ "$#" -ge 1 ] || die "usage: $0 GUEST_SCRIPT [FILE[:GUEST_PATH]...]"
guest_script="$1"
shift
[ -f "$guest_script" ] || die "guest script '$guest_script' not found"

timeout_s="${VM_TIMEOUT:-120}"
mem="${VM_MEM:-512M}"
modules=(can can-raw can-dev vcan)
# Word splitting is the point: VM_MODULES is a space separated list.
# shellcheck disable=SC2206
modules+=(${VM_MODULES:-})

t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

"$here/setup.sh" || die "setup.sh failed"
kver="$(cat "$kdir/kver")"
moddir="$kdir/lib/modules/$kver"

if [ -n "${VM_OUT:-}" ]; then
    out="$VM_OUT"
    mkdir -p "$out"
else
    out="$cache/out"
    rm -rf "$out"
    mkdir -p "$out"
fi
out="$(cd "$out" && pwd)"
# Stale results from an earlier run in the same VM_OUT must not pass for this run's: drop the
# harness's own logs and every file the last run shipped (listed in .vm-shipped).
rm -f "$out/guest.log" "$out/console.log" "$out/ctl.log"
if [ -f "$out/.vm-shipped" ]; then
    while read -r name; do rm -f "${out:?}/$name"; done <"$out/.vm-shipped"
    rm -f "$out/.vm-shipped"
fi

mkdir -p "$cache/runs"
# Run dirs of runs killed with SIGKILL (no EXIT trap) would pile up: drop those over 2 h old.
find "$cache/runs" -mindepth 1 -maxdepth 1 -name 'run.*' -mmin +120 -exec rm -rf {} + 2>/dev/null || true
run="$(mktemp -d "$cache/runs/run.XXXXXX")"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() { if [ "${VM_KEEP:-0}" = 1 ]; then log "kept $run"; else rm -rf "$run"; fi; }
trap cleanup EXIT
root="$run/root"

# ---- stage the guest root ---------------------------------------------------------------------
# Merged-/usr layout like Debian 12's, so a library is found whether ldd named it /lib/... or
# /usr/lib/..., and the dynamic loader's default search paths all exist.
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,etc,proc,sys,dev,tmp,run,root,guest}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$root/$d"; done
# The kernel opens /dev/console before /init runs; without the node init starts with no stdio.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

declare -A copied=()
copy_file() { # host path -> same guest path (dereferencing symlinks), once
    local src="$1" dst="$2"
    [ -n "${copied[$dst]:-}" ] && return 0
    mkdir -p "$root$(dirname "$dst")"
    cp -L "$src" "$root$dst"
    copied[$dst]=1
}

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

# Copy the shared libraries (and the dynamic loader) ldd lists for $1, at their host paths.
copy_libs() {
    local bin="$1" out line lib
    is_elf "$bin" || return 0
    # ldd exits non-zero for static binaries ("not a dynamic executable"): nothing to copy then.
    out="$(ldd "$bin" 2>&1)" || return 0
    if grep -q 'not found' <<<"$out"; then
        die "libraries of $bin not found on the host:"$'\n'"$out"
    fi
    while read -r line; do
        # "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)";
        # linux-vdso.so.1 has no file and is skipped.
        lib="$(awk '$2 == "=>" && $3 ~ /^\// { print $3; exit } $1 ~ /^\// { print $1; exit }' <<<"$line")"
        [ -n "$lib" ] && copy_file "$lib" "$lib"
    done <<<"$out"
}

copy_prog() { # copy an executable and its libraries to guest path $2
    copy_file "$1" "$2"
    copy_libs "$1"
}

# Real tools first, at their host paths (/usr/sbin/ip, /usr/bin/candump, ...). The shell is the
# host's bash, not busybox sh: Debian's busybox-static sh runs its own applet for any name it
# knows (its `ip` cannot even do `ip -d link`) whatever PATH says.
for t in bash ip candump cansend; do
    p="$(command -v "$t")" || die "$t not installed"
    copy_prog "$(readlink -f "$p")" "$p"
done

ln -s bash "$root/usr/bin/sh"
# Busybox applets fill in the rest, never shadowing a real tool copied above.
copy_file /bin/busybox /usr/bin/busybox
for a in $(/bin/busybox --list); do
    [ -e "$root/usr/bin/$a" ] || [ -e "$root/usr/sbin/$a" ] || ln -s busybox "$root/usr/bin/$a"
done

# Kernel modules, dependencies first (modprobe resolves them from the cached modules.dep);
# decompressed on the host because busybox insmod may not read .ko.xz / .ko.zst.
: >"$root/etc/vm-modules"
declare -A loaded=()
for m in "${modules[@]}"; do
    deps="$(modprobe -d "$kdir" -S "$kver" --show-depends "$m" 2>&1)" \
        || die "module $m not found in $kver: $deps"
    while read -r kw path _; do
        [ "$kw" = insmod ] || continue   # "builtin xyz" lines need nothing
        rel="${path#"$moddir"/}"
        rel="${rel%.xz}"; rel="${rel%.zst}"; rel="${rel%.gz}"
        [ -n "${loaded[$rel]:-}" ] && continue
        loaded[$rel]=1
        dst="$root/lib/modules/$kver/$rel"
        mkdir -p "$(dirname "$dst")"
        case "$path" in
            *.xz) xz -dc "$path" >"$dst" ;;
            *.zst) zstd -qdc "$path" >"$dst" ;;
            *.gz) gzip -dc "$path" >"$dst" ;;
            *) cp "$path" "$dst" ;;
        esac
        printf '/lib/modules/%s/%s\n' "$kver" "$rel" >>"$root/etc/vm-modules"
    done <<<"$deps"
done

# The test's own files.
for spec in "$@"; do
    src="${spec%%:*}"
    if [ "$src" = "$spec" ]; then dst="/bin/"; else dst="${spec#*:}"; fi
    case "$dst" in */) dst="$dst$(basename "$src")" ;; esac
    [ -f "$src" ] || die "file '$src' not found"
    case "$dst" in /*) ;; *) die "guest path '$dst' must be absolute" ;; esac
    copy_prog "$src" "$dst"
done

cp "$guest_script" "$root/guest/script.sh"

# PID 1 and the file-shipping helper; see the comments in those files for the serial channels.
install -m 755 "$here/guest/init" "$root/init"
install -m 755 "$here/guest/vm-ship" "$root/usr/bin/vm-ship"
chmod 755 "$root/guest/script.sh"

# Uncompressed cpio: the kernel then only copies it; gunzip under software emulation costs
# seconds per tens of MB (a debug cargo build is that big).
(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$run/initramfs.cpio" \
    || die "building the initramfs failed"
log "initramfs $(du -h "$run/initramfs.cpio" | cut -f1) built in $(elapsed)s; booting $kver (timeout ${timeout_s}s)"

# ---- boot ---------------------------------------------------------------------------------------
# qemu option syntax: a comma inside a value is written as two commas.
q_esc() { printf '%s' "${1//,/,,}"; }
# Word splitting is the point: VM_QEMU_ARGS is a space separated list.
# shellcheck disable=SC2206
extra_qemu=(${VM_QEMU_ARGS:-})

boot() { # boot KERNEL_IMAGE; sets qemu_rc
    : >"$out/console.log"
    : >"$out/guest.log"
    : >"$run/ctl.log"
    qemu_rc=0
    # No -nographic: every serial port goes to a file and nothing touches the host terminal, so
    # a killed qemu cannot leave the tty in raw mode and CI's missing stdin does not matter.
    # -nodefaults: no NIC, VGA, floppy or CD; the guest needs none of them.
    timeout -k 10 "$timeout_s" qemu-system-x86_64 \
        -accel tcg -M pc -cpu max -smp 1 -m "$mem" \
        -nodefaults -no-user-config -display none -monitor none -no-reboot \
        -kernel "$1" -initrd "$run/initramfs.cpio" \
        -append "console=ttyS0 quiet panic=-1${VM_APPEND:+ $VM_APPEND}" \
        -chardev "file,id=s0,path=$(q_esc "$out/console.log")" -serial chardev:s0 \
        -chardev "file,id=s1,path=$(q_esc "$out/guest.log")" -serial chardev:s1 \
        -chardev "file,id=s2,path=$(q_esc "$run/ctl.log")" -serial chardev:s2 \
        "${extra_qemu[@]}" \
        </dev/null >"$run/qemu.out" 2>&1 || qemu_rc=$?
}

# The ELF vmlinux (extracted by setup.sh) skips the guest-side xz decompression of vmlinuz.
# Should this qemu refuse it (no PVH entry note), fall back to the bzImage once.
if [ -f "$kdir/vmlinux" ] && [ "${VM_KERNEL_FORMAT:-}" != bzimage ]; then
    boot "$kdir/vmlinux"
    if [ "$qemu_rc" -ne 0 ] && [ ! -s "$out/console.log" ] && grep -qi 'pvh\|elf' "$run/qemu.out"; then
        log "qemu refused the ELF vmlinux ($(head -n1 "$run/qemu.out")); booting vmlinuz instead"
        boot "$kdir/vmlinuz"
    fi
else
    boot "$kdir/vmlinuz"
fi

# ---- results ------------------------------------------------------------------------------------
# Shipped files: decode every complete FILE block of the control channel into $out (a later
# block with the same name wins). A block cut off by a crash or timeout is reported, not decoded.
mkdir -p "$run/ship"
awk -v dir="$run/ship" '
    /^=== BUSBAR-VM FILE [A-Za-z0-9_][A-Za-z0-9._+-]* ===$/ {
        name = $4; f = dir "/" name ".b64"; printf "" > f; inblk = 1; next }
    /^=== BUSBAR-VM END ===$/ { if (inblk) { close(f); print name >> (dir "/.complete") }; inblk = 0; next }
    inblk { print >> f }
    END { if (inblk) print name > (dir "/.partial") }
' < <(tr -d '\r' <"$run/ctl.log")
shipped=()
if [ -f "$run/ship/.complete" ]; then
    while read -r name; do
        base64 -d <"$run/ship/$name.b64" >"$out/$name" || die "shipped file $name is corrupt"
        shipped+=("$name")
    done < <(sort -u "$run/ship/.complete")
    printf '%s\n' "${shipped[@]}" >"$out/.vm-shipped"
fi
[ ! -f "$run/ship/.partial" ] || log "WARNING: shipping $(cat "$run/ship/.partial") was cut off; not saved"
cp "$run/ctl.log" "$out/ctl.log"

echo "----- guest output -----"
cat "$out/guest.log"
echo "----- end of guest output -----"
[ "${#shipped[@]}" -eq 0 ] || log "shipped to $out: ${shipped[*]}"

show_console() {
    log "qemu said: $(tr '\n' ' ' <"$run/qemu.out")"
    log "last lines of $out/console.log:"
    tail -n 40 "$out/console.log" | tr -d '\r' >&2
}

if [ "$qemu_rc" -eq 124 ] || [ "$qemu_rc" -eq 137 ]; then
    log "TIMEOUT: the VM did not finish within ${timeout_s}s (VM_TIMEOUT) after $(elapsed)s"
    show_console
    exit "$EX_TIMEOUT"
fi
if grep -q '^BUSBAR-VM-SETUP-FAILED' "$run/ctl.log"; then
    log "guest setup failed before the guest script ran (see guest output above)"
    show_console
    exit "$EX_HARNESS"
fi
rc_line="$(tr -d '\r' <"$run/ctl.log" | grep -E '^BUSBAR-VM-EXIT=[0-9]+$' | tail -n1 || true)"
if [ -z "$rc_line" ]; then
    log "no exit status came back from the guest (qemu exit $qemu_rc): kernel panic or crash?"
    show_console
    exit "$EX_HARNESS"
fi
rc="${rc_line#BUSBAR-VM-EXIT=}"
log "guest script exited $rc; whole run $(elapsed)s"
exit "$rc"
