#!/usr/bin/env bash
# Builds a minimal busybox rootfs from Debian's busybox-static: the embedded default that the
# demo and the tests use.
#
#   Scripts/build-rootfs.sh [DIR]        (default: .rootfs/busybox in the checkout)
#
# Installs busybox-static with apt-get when it is missing. With CONTAIN_TEST_PAYLOAD=1 it also
# compiles Tests/Payload/payload.c statically into /usr/bin/payload, the tests' helper program.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/.rootfs/busybox}

if [ ! -x /bin/busybox ] || ! dpkg -s busybox-static >/dev/null 2>&1; then
    echo "[rootfs] installing busybox-static" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi

mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "${dest%/}.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var/tmp,home}
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
chmod 700 "$tmp/root"
cp /bin/busybox "$tmp/bin/busybox"
for applet in $(/bin/busybox --list-full); do
    [ -e "$tmp/$applet" ] || ln -s /bin/busybox "$tmp/$applet"
done
cat > "$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$tmp/etc/group" <<'G'
root:x:0:
tty:x:5:
nogroup:x:65534:
G
echo "contain busybox rootfs" > "$tmp/etc/issue"
# Empty, as in docker images: on a bridge network contain binds its generated files over them.
: > "$tmp/etc/hosts"
: > "$tmp/etc/resolv.conf"

if [ "${CONTAIN_TEST_PAYLOAD:-0}" = 1 ]; then
    gcc -static -O2 -Wall -o "$tmp/usr/bin/payload" "$here/Tests/Payload/payload.c"
fi

rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$tmp" "$dest"
trap - EXIT
echo "[rootfs] busybox rootfs ready: $dest" >&2
