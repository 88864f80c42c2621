#!/usr/bin/env bash
# The first command on a fresh Debian 12 machine (as root): installs what contain needs,
# builds it in release mode, builds the busybox rootfs and runs a demo container.
#
#   Scripts/setup.sh
#
# Afterwards contain is on PATH (/usr/local/bin/contain, with its man page and bash, zsh and
# fish completions): contain run --rootfs .rootfs/busybox -- /bin/sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

[ "$(id -u)" = 0 ] || { echo "[setup] error: run as root (contain creates namespaces and cgroups)" >&2; exit 1; }
Scripts/install-deps.sh
Scripts/build-release.sh
Scripts/build-rootfs.sh "$here/.rootfs/busybox"

# Installed as it was built and tested; the man page and completions come from the binary's
# own help text.
echo "[setup] installing /usr/local/bin/contain, contain(1) and shell completions" >&2
install -D -m 0755 .build/release/contain /usr/local/bin/contain
install -D -m 0755 .build/release/contain-oci /usr/local/bin/contain-oci   # the OCI runtime command line (runc's)
install -d /usr/local/share/man/man1 /usr/share/bash-completion/completions /usr/local/share/zsh/site-functions \
    /usr/share/fish/vendor_completions.d
/usr/local/bin/contain __manpage > /usr/local/share/man/man1/contain.1
/usr/local/bin/contain completion bash > /usr/share/bash-completion/completions/contain
/usr/local/bin/contain completion zsh > /usr/local/share/zsh/site-functions/_contain
/usr/local/bin/contain completion fish > /usr/share/fish/vendor_completions.d/contain.fish

# The demo wires a real bridge network, so it runs inside a throwaway network namespace that
# plays the host: this machine's own interfaces, routes and firewall are never touched, and
# deleting the namespace takes the bridge, the veth and contain's nftables table with it.
# (On a machine of your own, drop the nsenter and the --root: contain run --net bridge ...)
demo_ns=contain-demo-$$
demo_root=$(mktemp -d /tmp/contain-demo.XXXXXX)
cleanup() { ip netns del "$demo_ns" 2>/dev/null || true; rm -rf "$demo_root"; }
trap cleanup EXIT
ip netns add "$demo_ns"
ip -n "$demo_ns" link set lo up

echo "[setup] demo: a container on a bridge network, with its own hostname, PID 1, rootfs and limits" >&2
nsenter --net=/run/netns/"$demo_ns" contain --root "$demo_root" run --net bridge --name demo \
    --rootfs .rootfs/busybox --hostname demo --memory 64M --cpus 0.5 --pids 64 -- \
    /bin/sh -c 'echo "hello from $(hostname), I am PID $$"; echo "my address: $(ip -4 -o addr show eth0 | awk "{print \$4}")"; gw=$(ip route | awk "/default/ {print \$3}"); ping -c 1 -W 2 "$gw" >/dev/null && echo "my gateway $gw answers"; echo "processes:"; ps -o pid,comm; echo "root:"; ls /'
nsenter --net=/run/netns/"$demo_ns" contain --root "$demo_root" net ls
echo "[setup] done: contain run --rootfs .rootfs/busybox -- /bin/sh   (man contain, contain --help)" >&2
