#!/usr/bin/env bash
# Unpacks a root filesystem tarball (an Alpine-style minirootfs, .tar or .tar.gz) into a
# directory that `contain run --rootfs` can use.
#
#   Scripts/import-rootfs.sh TARBALL [DIR]      (default: .rootfs/<tarball name>)
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ $# -ge 1 ] || { echo "usage: Scripts/import-rootfs.sh TARBALL [DIR]" >&2; exit 2; }
tarball=$1
[ -f "$tarball" ] || { echo "[rootfs] error: no such file: $tarball" >&2; exit 1; }
name=$(basename "$tarball"); name=${name%.gz}; name=${name%.tar}; name=${name%.tgz}
dest=${2:-$here/.rootfs/$name}
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "${dest%/}.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
tar -xf "$tarball" -C "$tmp" --numeric-owner ||
    { echo "[rootfs] error: $tarball is not a tar archive" >&2; exit 1; }
[ -e "$tmp/bin/sh" ] || [ -L "$tmp/bin/sh" ] ||
    echo "[rootfs] warning: $tarball has no /bin/sh; give the command explicitly" >&2
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "[rootfs] imported: $dest" >&2
