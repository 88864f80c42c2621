#!/usr/bin/env bash
# Every test, as root: unit tests, then the integration tests against the built binary and a
# busybox rootfs on this host's cgroup layout, then the same integration tests inside a
# cgroup v2 VM (Scripts/cgroup2-vm.sh), so both layouts are proven on every change.
#
#   Scripts/test.sh                  (CONTAIN_SKIP_VM=1 skips the VM stage, for quick local runs)
#
# Exits non-zero when any test fails. .ci/run calls this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

[ "$(id -u)" = 0 ] || { echo "[test] error: run as root" >&2; exit 1; }
Scripts/install-deps.sh

echo "[test] building (debug) with tests" >&2
swift build --build-tests 2>&1 | { grep -vE '^\[[0-9]+/[0-9]+\]' || true; } >&2
CONTAIN_TEST_PAYLOAD=1 Scripts/build-rootfs.sh "$here/.rootfs/test"

bin=$(swift build --show-bin-path)
tests=$bin/containPackageTests.xctest
export CONTAIN_BINARY=$bin/contain CONTAIN_TEST_ROOTFS=$here/.rootfs/test

echo "[test] unit tests" >&2
"$tests" --testing-library swift-testing --skip IntegrationTests

layout=v1/hybrid
[ -f /sys/fs/cgroup/cgroup.controllers ] && layout=v2
echo "[test] integration tests on this host (cgroup $layout)" >&2
CONTAIN_INTEGRATION=1 "$tests" --testing-library swift-testing --filter IntegrationTests

if [ "${CONTAIN_SKIP_VM:-0}" != 1 ]; then
    echo "[test] integration tests in a cgroup v2 VM" >&2
    # Emulated and single-CPU: waits in the tests get four times as long before they give up.
    CONTAIN_INTEGRATION=1 CONTAIN_TEST_TIME_SCALE=4 Scripts/cgroup2-vm.sh "$tests" --testing-library swift-testing --filter IntegrationTests
fi
echo "[test] all tests passed" >&2
