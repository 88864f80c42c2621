#!/usr/bin/env bash
# Builds .build/release/contain as it ships: release mode, the Swift runtime linked statically,
# and a position-dependent executable.
#
# Why -no-pie: a PIE applies ~39,000 relative relocations at every start, touching (and
# copying) the pages that hold them, twice per container (the runtime and its re-executed
# init). Linking at a fixed address removed ~120 page faults and 0.5-0.8 ms from each of the
# two process starts (measured with hyperfine and perf stat; bench/results.md). Shared
# libraries, the stack and the heap are still randomized; the executable's own image is not.
# Why --disable-local-rpath: with RUNPATH $ORIGIN the loader first looks for each of the six
# shared libraries in the build directory and its hwcaps subdirectories (about 60 failed opens
# per process start, seen with strace); contain needs only the system's.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"
for product in contain contain-oci; do
    echo "[build] $product (release, static Swift runtime, -no-pie, no local rpath)" >&2
    swift build -c release --static-swift-stdlib --disable-local-rpath --product "$product" -Xswiftc -Xclang-linker -Xswiftc -no-pie 2>&1 \
        | { grep -vE '^\[[0-9]+/[0-9]+\]|warning: the use of|libFoundationEssentials.a' || true; } >&2
done
