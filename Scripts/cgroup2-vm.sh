#!/usr/bin/env bash
# Runs a command inside a small QEMU VM whose kernel (Debian's linux-image-amd64) has cgroup v2
# alone at /sys/fs/cgroup, so contain's v2 code is proven on a real v2 kernel even on these
# hybrid hosts. KVM is not needed: software emulation boots to the command in a few seconds.
#
#   Scripts/cgroup2-vm.sh COMMAND [ARGS...]
#
# The VM sees the host's root over 9p, read-only beneath a tmpfs overlay (so the checkout, the
# built binaries, the Swift runtime and the test rootfs are all at their usual paths, and writes
# stay in the VM). COMMAND runs as root in the current
# directory; its output is the console; its exit status becomes this script's.
# The kernel, the uncompressed vmlinux and the initramfs are cached in .vm/ of the checkout.
# Environment: CONTAIN_VM_MEMORY (default 2048 MiB), CONTAIN_VM_CPUS (default 1),
# CONTAIN_VM_TIMEOUT (seconds, default 1200).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=$here/.vm
[ $# -gt 0 ] || { echo "usage: Scripts/cgroup2-vm.sh COMMAND [ARGS...]" >&2; exit 2; }

need() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
missing=()
need qemu-system-x86_64 qemu-system-x86
need python3 python3
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
    echo "[vm] installing ${missing[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

prepare() {
    mkdir -p "$cache"
    local package
    package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
    [ -n "$package" ] || { echo "[vm] cannot find the kernel package behind linux-image-amd64" >&2; exit 1; }
    local kdir=$cache/$package
    if [ ! -f "$kdir/vmlinux" ]; then
        echo "[vm] fetching $package" >&2
        local tmp
        tmp=$(mktemp -d "$cache/fetch.XXXXXX")
        (cd "$tmp" && apt-get download "$package" >/dev/null 2>&1) ||
            (cd "$tmp" && apt-get download "$package")
        dpkg-deb -x "$tmp"/*.deb "$tmp/root"
        mkdir -p "$kdir.new"
        # The compressed kernel inside bzImage decompresses slowly under emulation: boot the
        # ELF vmlinux (PVH entry) instead.
        python3 - "$tmp"/root/boot/vmlinuz-* "$kdir.new/vmlinux" <<'PY'
import lzma, sys, zlib
data = open(sys.argv[1], "rb").read()
for magic, make in ((b"\xfd7zXZ\x00", lambda: lzma.LZMADecompressor()),
                    (b"\x1f\x8b\x08\x00", lambda: zlib.decompressobj(16 + zlib.MAX_WBITS))):
    at = data.find(magic)
    while at >= 0:
        try:
            out = make().decompress(data[at:])
            if out[:4] == b"\x7fELF":
                open(sys.argv[2], "wb").write(out)
                sys.exit(0)
        except Exception:
            pass
        at = data.find(magic, at + 1)
sys.exit("no ELF kernel found inside " + sys.argv[1])
PY
        mv "$tmp"/root/lib/modules/* "$kdir.new/modules"
        rm -rf "$tmp" "$kdir"
        mv "$kdir.new" "$kdir"
    fi
    if [ ! -f "$kdir/initramfs.cpio" ] || [ "$here/Scripts/vm/vm-init" -nt "$kdir/initramfs.cpio" ] ||
       [ "$here/Scripts/vm/make-initramfs.py" -nt "$kdir/initramfs.cpio" ]; then
        python3 "$here/Scripts/vm/make-initramfs.py" "$kdir/modules" "$here/Scripts/vm/vm-init" "$kdir/initramfs.cpio.new"
        mv "$kdir/initramfs.cpio.new" "$kdir/initramfs.cpio"
    fi
    kernel=$kdir/vmlinux
    initramfs=$kdir/initramfs.cpio
}
prepare

job=$(mktemp -d "$cache/job.XXXXXX")
trap 'rm -rf "$job"' EXIT
printf '%s\n' "$PWD" > "$job/cwd"
{
    printf 'export PATH=%q HOME=/root LANG=C.UTF-8 TERM=%q\n' "$PATH" "${TERM:-dumb}"
    for v in $(compgen -e | grep -E '^CONTAIN_' || true); do printf 'export %s=%q\n' "$v" "${!v}"; done
    printf 'exec'; printf ' %q' "$@"; printf '\n'
} > "$job/command"

echo "[vm] booting Linux $(basename "$(dirname "$kernel")") with cgroup v2 (software emulation)" >&2
# One vCPU by default: with two, TCG once left both vCPUs spinning in the guest kernel for
# minutes (soft lockups in `ip` and `contain`, each waiting on the other CPU), which a single
# vCPU cannot do. CONTAIN_VM_CPUS=2 is faster when it works.
# Past CONTAIN_VM_TIMEOUT, qemu gets SIGTERM, and SIGKILL 10 s later if it is still there.
vm_timeout=${CONTAIN_VM_TIMEOUT:-1200}
vm_status=0
timeout --foreground --kill-after=10 "$vm_timeout" qemu-system-x86_64 \
    -machine q35 -accel tcg,thread=multi -cpu max -smp "${CONTAIN_VM_CPUS:-1}" -m "${CONTAIN_VM_MEMORY:-2048}" \
    -kernel "$kernel" -initrd "$initramfs" \
    -append "console=ttyS0 quiet loglevel=1 panic=-1 rdinit=/init cgroup_no_v1=all systemd.unified_cgroup_hierarchy=1" \
    -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
    -virtfs local,path="$job",mount_tag=job,security_model=none,multidevs=remap \
    -nic none -display none -serial stdio -monitor none -no-reboot </dev/null || vm_status=$?
if [ "$vm_status" = 124 ] || [ "$vm_status" = 137 ]; then
    echo "[vm] error: the VM timed out after $vm_timeout s (CONTAIN_VM_TIMEOUT) and was stopped" >&2
    exit 124
fi
if [ ! -s "$job/status" ]; then
    echo "[vm] the VM ended without a result (see the console above)" >&2
    exit 125
fi
status=$(cat "$job/status")
echo "[vm] exit status $status" >&2
exit "$status"
