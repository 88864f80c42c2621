#!/usr/bin/env bash
# Every test, as root: unit tests, then the integration tests against the binary that ships
# (.build/release/contain, built by Scripts/build-release.sh exactly as Scripts/setup.sh builds
# it) and a busybox rootfs on this host's cgroup layout, then the same integration tests with
# the same binary inside a cgroup v2 VM (Scripts/cgroup2-vm.sh), so both layouts are proven on
# every change. The unit tests run from the debug test bundle.
#
#   Scripts/test.sh                  (CONTAIN_SKIP_VM=1 skips the VM stage, for quick local runs)
#
# Every stage has a time limit: past it, the stage and everything it started (its whole process
# group: the test runner, contain runtimes, the VM) get SIGTERM, SIGKILL 30 s later, and the run
# fails with "[test] error: STAGE timed out after N s" instead of hanging CI (which gives the
# whole run 90 minutes). The limits are several times what each stage takes on the 2-core test
# machines; the whole run also stops after CONTAIN_TEST_DEADLINE seconds (default 85 minutes),
# so a slow run still ends with its own message before CI's limit.
#
# Exits non-zero when any test fails. .ci/run calls this.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

[ "$(id -u)" = 0 ] || { echo "[test] error: run as root" >&2; exit 1; }

deadline=$((SECONDS + ${CONTAIN_TEST_DEADLINE:-5100}))
stage_pid=

# stage NAME SECONDS COMMAND [ARGS...]: runs COMMAND (a program, not a shell function) under
# timeout(1), in the background so that a signal to this script (Ctrl-C, CI cancelling) is
# handled at once: the trap below passes it to the stage's process group.
stage() {
    local name=$1 limit=$2; shift 2
    local left=$((deadline - SECONDS))
    if [ "$left" -le 0 ]; then
        echo "[test] error: $name: the run's time limit (CONTAIN_TEST_DEADLINE) is used up" >&2
        exit 124
    fi
    [ "$limit" -le "$left" ] || limit=$left
    echo "[test] $name (time limit $limit s)" >&2
    local started=$SECONDS status=0
    timeout --kill-after=30 "$limit" "$@" &
    stage_pid=$!
    wait "$stage_pid" || status=$?
    stage_pid=
    local took=$((SECONDS - started))
    # 124: ended by the SIGTERM; 137: needed the SIGKILL.
    if { [ "$status" = 124 ] || [ "$status" = 137 ]; } && [ "$took" -ge "$limit" ]; then
        echo "[test] error: $name timed out after $limit s" >&2
        exit 124
    fi
    if [ "$status" != 0 ]; then
        echo "[test] error: $name failed (exit status $status after $took s)" >&2
        exit "$status"
    fi
    echo "[test] $name: passed in $took s" >&2
}

interrupted() {
    local signal=$1 code=$2
    trap - INT TERM
    if [ -n "$stage_pid" ]; then
        echo "[test] $signal: stopping the running stage" >&2
        kill -s "$signal" "$stage_pid" 2>/dev/null || true  # timeout(1) passes it to the whole stage
        wait "$stage_pid" 2>/dev/null || true
    fi
    exit "$code"
}
trap 'interrupted INT 130' INT
trap 'interrupted TERM 143' TERM

stage "installing dependencies" 900 Scripts/install-deps.sh

stage "building the release binary" 1200 Scripts/build-release.sh
stage "building the tests (debug)" 1200 bash -c \
    'swift build --build-tests 2>&1 | { grep -vE "^\[[0-9]+/[0-9]+\]" || true; } >&2; exit "${PIPESTATUS[0]}"'
stage "building the test rootfs" 300 env CONTAIN_TEST_PAYLOAD=1 Scripts/build-rootfs.sh "$here/.rootfs/test"

tests=$(swift build --show-bin-path)/containPackageTests.xctest
# The integration tests, on this host and in the VM (cgroup2-vm.sh passes every CONTAIN_*
# variable into the VM), run the release binary that setup.sh ships, not the debug build.
export CONTAIN_BINARY=$here/.build/release/contain CONTAIN_TEST_ROOTFS=$here/.rootfs/test
[ -x "$CONTAIN_BINARY" ] || { echo "[test] error: no release binary at $CONTAIN_BINARY" >&2; exit 1; }
echo "[test] integration tests run $CONTAIN_BINARY ($("$CONTAIN_BINARY" --version 2>&1 | head -n 1))" >&2

stage "unit tests" 300 "$tests" --testing-library swift-testing --skip IntegrationTests

layout=v1/hybrid
[ -f /sys/fs/cgroup/cgroup.controllers ] && layout=v2
stage "integration tests on this host (cgroup $layout)" 900 \
    env CONTAIN_INTEGRATION=1 "$tests" --testing-library swift-testing --filter IntegrationTests

if [ "${CONTAIN_SKIP_VM:-0}" != 1 ]; then
    # Emulated and single-CPU: waits in the tests get four times as long before they give up.
    # The VM itself is stopped 5 minutes before the stage's limit (booting it, and on a fresh
    # machine fetching its kernel, takes the rest), so its own message says it ran out of time.
    vm_limit=1800
    export CONTAIN_VM_TIMEOUT=${CONTAIN_VM_TIMEOUT:-$((vm_limit - 300))}
    stage "integration tests in a cgroup v2 VM" "$vm_limit" \
        env CONTAIN_INTEGRATION=1 CONTAIN_TEST_TIME_SCALE=4 \
        Scripts/cgroup2-vm.sh "$tests" --testing-library swift-testing --filter IntegrationTests
fi
echo "[test] all tests passed" >&2
