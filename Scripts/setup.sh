#!/usr/bin/env bash
# The first command on a fresh Debian 12 machine (as root): installs what contain needs,
# builds it in release mode, builds the busybox rootfs and runs a demo container.
#
#   Scripts/setup.sh
#
# Afterwards: .build/release/contain run --rootfs .rootfs/busybox -- /bin/sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

[ "$(id -u)" = 0 ] || { echo "[setup] error: run as root (contain creates namespaces and cgroups)" >&2; exit 1; }
Scripts/install-deps.sh
echo "[setup] building contain (release, static Swift runtime)" >&2
swift build -c release --static-swift-stdlib --product contain 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; } >&2
Scripts/build-rootfs.sh "$here/.rootfs/busybox"

echo "[setup] demo: a container with its own hostname, PID 1, rootfs and limits" >&2
.build/release/contain run --rootfs .rootfs/busybox --hostname demo --memory 64M --cpus 0.5 --pids 64 -- \
    /bin/sh -c 'echo "hello from $(hostname), I am PID $$"; echo "processes:"; ps; echo "root:"; ls /'
echo "[setup] done: .build/release/contain run --rootfs .rootfs/busybox -- /bin/sh" >&2
