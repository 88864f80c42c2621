#!/usr/bin/env bash
# Benchmarks contain beside crun and runc on the same busybox rootfs, in one run, and writes
# bench/results.md, bench/results.png and the table in README.md.
#
#   Scripts/bench.sh                 BENCH_RUNS=30 (hyperfine runs per case), BENCH_CONCURRENT=50
#
# Everything runs inside a throwaway network namespace that plays the host (the machine's own
# network is never touched) and a private mount namespace. On a hybrid cgroup host, the private
# mount namespace hides the cgroup2 mount at /sys/fs/cgroup/unified under a tmpfs, because crun
# refuses hybrid hosts whose cgroup2 has controllers; every runtime then sees the same v1
# hierarchies. The host's own mounts are not changed. Runtimes create their cgroups under
# contain-bench/ (crun, runc) and contain-bench-contain/ (contain) at the hierarchy roots.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

runs=${BENCH_RUNS:-30}
concurrent=${BENCH_CONCURRENT:-50}
contain=$here/.build/release/contain
rootfs=$here/.rootfs/busybox

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "[bench] error: run as root" >&2; exit 1; }
    Scripts/install-deps.sh --bench
    Scripts/build-release.sh
    [ -x "$rootfs/bin/busybox" ] || Scripts/build-rootfs.sh "$rootfs"
    work=$(mktemp -d /tmp/contain-bench.XXXXXX)
    ns=contain-bench-$$
    cleanup() { ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
    trap cleanup EXIT
    ip netns add "$ns"
    BENCH_WORK=$work nsenter --net=/run/netns/"$ns" unshare -m --propagation private "$0" --inside
    mkdir -p bench
    python3 Scripts/bench/report.py "$work" bench README.md
    echo "[bench] wrote bench/results.md, bench/results.png and the table in README.md" >&2
    exit 0
fi

# ---- inside the bench network namespace and a private mount namespace ----
work=$BENCH_WORK
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    mount -t tmpfs bench-hides-unified /sys/fs/cgroup/unified
fi
ip link set lo up
state=$work/state
mkdir -p "$state" "$work/crun" "$work/runc" "$work/json"
say() { echo "[bench] $*" >&2; }
hf() {  # hyperfine NAME RUNS COMMAND...: each command is "label=command"
    local name=$1 n=$2; shift 2
    local args=()
    for c in "$@"; do args+=(--command-name "${c%%=*}" "${c#*=}"); done
    hyperfine -N --style basic --warmup 3 --runs "$n" --export-json "$work/json/$name.json" "${args[@]}" >&2
}

# OCI bundles matching contain's isolation.
B=Scripts/bench/make-bundle.py
python3 $B "$work/b-none" "$rootfs" /contain-bench/bench
python3 $B "$work/b-limits" "$rootfs" /contain-bench/bench --limits
python3 $B "$work/b-net" "$rootfs" /contain-bench/bench --netns /run/netns/bench-c

# A bridge and a NAT rule that exist before the wired crun/runc runs, as contain's do.
ip link add cbr0 type bridge
ip addr add 10.99.0.1/24 dev cbr0
ip link set cbr0 up
echo 1 > /proc/sys/net/ipv4/ip_forward
nft add table ip benchnat
nft add chain ip benchnat post '{ type nat hook postrouting priority srcnat; }'
nft add rule ip benchnat post ip saddr 10.99.0.0/24 oifname != cbr0 masquerade

# What a runtime without a network stack does per container: a namespace, a veth pair with its
# peer inside, the host end on the bridge, address, routes, all with ip -batch; then the runtime.
cat > "$work/wired.sh" <<W
set -e
v=vb\$\$
ip netns add bench-c
ip -b - <<B
link add \$v type veth peer name eth0 netns bench-c
link set \$v master cbr0 up
B
ip -n bench-c -b - <<B
link set lo up
link set eth0 up
addr add 10.99.0.2/24 dev eth0
route add default via 10.99.0.1
B
\$1 --root "$work/\$1" run --bundle "$work/b-net" wired >/dev/null
ip netns del bench-c
W

say "case 1: /bin/true, no network (own netns)"
hf none "$runs" \
    "contain=$contain --root $state run -q --cgroup-parent contain-bench-contain --rootfs $rootfs -- /bin/true" \
    "crun=crun --root $work/crun run --bundle $work/b-none bench" \
    "runc=runc --root $work/runc run --bundle $work/b-none bench"

say "case 2: /bin/true on a bridge"
hf bridge "$runs" \
    "contain --net bridge=$contain --root $state run -q --cgroup-parent contain-bench-contain --net bridge --rootfs $rootfs -- /bin/true" \
    "crun (no network)=crun --root $work/crun run --bundle $work/b-none bench" \
    "crun + ip -batch=sh $work/wired.sh crun" \
    "runc + ip -batch=sh $work/wired.sh runc"

say "case 3: /bin/true with memory, cpu and pids limits (no network)"
hf limits "$runs" \
    "contain=$contain --root $state run -q --cgroup-parent contain-bench-contain --memory 64M --cpu 50000 --pids 64 --rootfs $rootfs -- /bin/true" \
    "crun=crun --root $work/crun run --bundle $work/b-limits bench" \
    "runc=runc --root $work/runc run --bundle $work/b-limits bench"

say "case 4: $concurrent containers started at once on one bridge network"
mkdir -p "$work/addresses"
cat > "$work/many-contain.sh" <<W
[ \$# -gt 0 ] || set -- /bin/true
for i in \$(seq 1 $concurrent); do
    $contain --root $state run -q --cgroup-parent contain-bench-contain --net bridge --rootfs $rootfs -- "\$@" &
done
wait
W
cat > "$work/many-crun.sh" <<W
one() {
    n=bc\$1
    ip netns add \$n
    ip link add v\$n type veth peer name eth0 netns \$n
    ip link set v\$n master cbr0 up
    ip -n \$n -b - <<B
link set lo up
link set eth0 up
addr add 10.99.0.\$((\$1 + 1))/24 dev eth0
route add default via 10.99.0.1
B
    crun --root $work/crun run --bundle $work/bc/\$1 c\$1 >/dev/null
    ip netns del \$n
}
for i in \$(seq 1 $concurrent); do one \$i & done
wait
W
for i in $(seq 1 "$concurrent"); do
    python3 $B "$work/bc/$i" "$rootfs" /contain-bench/c$i --netns /run/netns/bc$i
done
hf concurrent 10 "contain=sh $work/many-contain.sh" "crun + ip -batch=sh $work/many-crun.sh"
# Every container got its own address: each prints it and holds it for a moment.
sh "$work/many-contain.sh" /bin/sh -c 'ip -4 -o addr show eth0 | sed "s/.*inet \([0-9./]*\).*/\1/"; sleep 3' > "$work/addresses.txt"
echo "$(sort -u "$work/addresses.txt" | grep -c .) $(grep -c . "$work/addresses.txt")" > "$work/distinct.txt"

say "case 5: peak RSS of the runtime process"
rss() {  # label command...: 15 runs, the kernel's maxrss of the process (and what it waited for)
    local label=$1; shift
    for _ in $(seq 1 15); do /usr/bin/time -f "%M" -o "$work/rss.one" "$@" >/dev/null 2>&1 || true; cat "$work/rss.one"; done \
        | sort -n | awk -v l="$label" '{v[NR]=$1} END {print l "\t" v[int((NR+1)/2)]}' >> "$work/rss.txt"
}
: > "$work/rss.txt"
rss "contain" $contain --root $state run -q --cgroup-parent contain-bench-contain --rootfs $rootfs -- /bin/true
rss "contain --net bridge" $contain --root $state run -q --cgroup-parent contain-bench-contain --net bridge --rootfs $rootfs -- /bin/true
rss "crun" crun --root $work/crun run --bundle $work/b-none bench
rss "runc" runc --root $work/runc run --bundle $work/b-none bench

say "case 6: TCP throughput container to container over contain's bridge, and host loopback (iperf3, 5 s)"
r2=$work/rootfs-iperf
cp -a "$rootfs" "$r2"
cp "$(command -v iperf3)" "$r2/usr/bin/iperf3"
for lib in $(ldd "$(command -v iperf3)" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
    mkdir -p "$r2$(dirname "$lib")"; cp -L "$lib" "$r2$lib"
done
$contain --root $state run -q --cgroup-parent contain-bench-contain --net bridge --name iperf-server --ip 10.88.0.250 --rootfs "$r2" -- iperf3 -s -1 >/dev/null &
server=$!
for _ in $(seq 1 50); do
    if $contain --root $state run -q --cgroup-parent contain-bench-contain --net bridge --rootfs "$r2" -- \
        iperf3 -c 10.88.0.250 -t 5 -J > "$work/json/iperf-bridge.json" 2>/dev/null; then break; fi
    sleep 0.2
done
# A server that never got a client (every attempt failed) must not hold the run: stop it.
kill -TERM $server 2>/dev/null || true
wait $server || true
iperf3 -s -1 -B 127.0.0.1 >/dev/null &
sleep 0.5
iperf3 -c 127.0.0.1 -t 5 -J > "$work/json/iperf-loopback.json"
wait || true

say "phase breakdown: contain --timings, 30 runs each"
for _ in $(seq 1 30); do
    $contain --root $state run -q --timings --cgroup-parent contain-bench-contain --rootfs $rootfs -- /bin/true 2>> "$work/timings-none.txt"
    $contain --root $state run -q --timings --cgroup-parent contain-bench-contain --net bridge --rootfs $rootfs -- /bin/true 2>> "$work/timings-bridge.txt"
done

{ echo "kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')";
  echo "crun $(crun --version | head -1 | awk '{print $3}'), runc $(runc --version | head -1 | awk '{print $3}'), hyperfine $(hyperfine --version | awk '{print $2}'), contain $($contain --version)";
  echo "cgroup layout as the runtimes saw it: $(stat -f -c %T /sys/fs/cgroup)"; } > "$work/machine.txt"
nft delete table ip benchnat
rmdir /sys/fs/cgroup/*/contain-bench /sys/fs/cgroup/*/contain-bench-contain 2>/dev/null || true
