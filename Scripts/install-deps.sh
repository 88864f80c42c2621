#!/usr/bin/env bash
# Installs, from Debian's archive, everything contain needs to build and test. Idempotent:
# installs only what is missing, and refreshes the package lists only when that is needed.
#
#   Scripts/install-deps.sh            build + test dependencies
#   Scripts/install-deps.sh --bench    and what Scripts/bench.sh compares and measures with
#
# The Swift toolchain is not in Debian's archive: it is expected on PATH or at /opt/swift.
set -euo pipefail

packages=(
    libmnl-dev libnftnl-dev pkg-config   # the netlink module (libmnl) and NAT (libnftnl)
    zlib1g-dev                           # .tar.gz rootfs tarballs
    libseccomp-dev                       # the containers' seccomp filters (built by libseccomp)
    libpcap-dev                          # net capture: libpcap's headers (the library is loaded when used)
    libyaml-dev                          # lab files: libyaml's headers (the library is loaded when used)
    graphviz                             # lab graph: Graphviz's dot lays out and draws labs
    gcc libc6-dev                        # the C shim; the tests' static payload program
    busybox-static                       # the rootfs for the demo and the tests
    tmux util-linux iproute2 procps      # tests: a real terminal, setpriv, nsenter, observing links
    nftables                             # tests: observing contain's table (the product never runs nft)
    tshark tcpdump iperf3                # tests: reading capture files back, measuring impaired links
    podman containerd                    # tests: the engines that drive contain-oci (conmon, ctr, CNI come with them)
    qemu-system-x86 python3 xz-utils     # the cgroup v2 test VM
)
if [ "${1:-}" = --bench ]; then
    packages+=(crun runc hyperfine time gnuplot-nox valgrind binutils strace)   # valgrind, objcopy: instruction counts; strace: system calls
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "[deps] installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "[deps] note: add /opt/swift/usr/bin to PATH (the scripts do it for themselves)" >&2
    else
        echo "[deps] error: no Swift toolchain: install Swift 6 (swift.org) so that \`swift\` is on PATH" >&2
        exit 1
    fi
fi
