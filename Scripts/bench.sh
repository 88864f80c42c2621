#!/usr/bin/env bash
# Benchmarks contain beside crun and runc (and podman's conmon) on the same busybox rootfs, in
# one run, and writes bench/results.md, bench/results.png and the table in README.md.
#
#   Scripts/bench.sh
#
# Environment (all optional):
#   BENCH_RUNS=30          hyperfine runs per command (10 for case 4, BENCH_SCALE_RUNS for scaling)
#   BENCH_CONCURRENT=50    containers started at once in case 4
#   BENCH_SCALE_RUNS=20    hyperfine runs per step of the scaling case
#   BENCH_IDLE=100         idle detached containers for the supervisor memory case (and for podman)
#   BENCH_CONTAIN=PATH     the contain binary to measure (default .build/release/contain, built by
#                          Scripts/build-release.sh; when given, nothing is built)
#   BENCH_CASES="..."      a subset of: none bridge limits timings syscalls concurrent rss iperf exec
#                          scaling memory callgrind (default: all)
#   BENCH_OUT=DIR          write results.md, results.png and an updated copy of README.md to DIR
#                          instead of bench/ and README.md (for trial runs)
#   BENCH_KEEP_WORK=1      keep the raw results (the work directory under /tmp) for a look
#
# Everything runs inside a throwaway network namespace that plays the host (the machine's own
# network is never touched) and a private mount namespace. On a hybrid cgroup host, the private
# mount namespace hides the cgroup2 mount at /sys/fs/cgroup/unified under a tmpfs, because crun
# refuses hybrid hosts whose cgroup2 has controllers; every runtime then sees the same v1
# hierarchies. /dev/shm and /run/crun get private tmpfs mounts there too (podman's lock memory,
# the profiles of the instruction counts, the crun state podman leaves in /run/crun), and so do the
# runtimes' state directories (as /run is a tmpfs on Debian 12; case 1 measures both). The host's
# own mounts are not changed. Runtimes create their cgroups under contain-bench/ (crun, runc),
# contain-bench-contain/ (contain) and contain-bench-podman/ (podman) at the hierarchy roots.
# Every stage runs under `timeout`; a stage that fails is reported as failed and the run goes on;
# whatever a stage started is removed when it ends, and once more when the run ends, on failure too.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$here"

runs=${BENCH_RUNS:-30}
concurrent=${BENCH_CONCURRENT:-50}
scale_runs=${BENCH_SCALE_RUNS:-20}
idle=${BENCH_IDLE:-100}
build_release=yes
if [ -n "${BENCH_CONTAIN:-}" ]; then contain=$BENCH_CONTAIN; build_release=no; else contain=$here/.build/release/contain; fi
all_cases="none bridge limits timings syscalls concurrent rss iperf exec scaling memory callgrind"
cases=${BENCH_CASES:-$all_cases}
rootfs=$here/.rootfs/busybox
export BENCH_CONTAIN=$contain BENCH_CASES=$cases

# The runtimes' cgroup parents, children first; a cgroup whose last process just died may still
# be busy for a moment.
remove_bench_cgroups() {
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        local left=0
        for d in /sys/fs/cgroup/contain-bench /sys/fs/cgroup/contain-bench-contain /sys/fs/cgroup/contain-bench-podman \
                 /sys/fs/cgroup/*/contain-bench /sys/fs/cgroup/*/contain-bench-contain /sys/fs/cgroup/*/contain-bench-podman; do
            [ -d "$d" ] || continue
            find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ ! -d "$d" ] || left=1
        done
        [ "$left" = 1 ] || break
        sleep 0.3
    done
}

if [ "${1:-}" != --inside ]; then
    [ "$(id -u)" = 0 ] || { echo "[bench] error: run as root" >&2; exit 1; }
    for c in $cases; do
        case " $all_cases " in *" $c "*) ;; *) echo "[bench] error: unknown case $c (known: $all_cases)" >&2; exit 1 ;; esac
    done
    Scripts/install-deps.sh --bench
    [ "$build_release" = no ] || Scripts/build-release.sh
    [ -x "$contain" ] || { echo "[bench] error: no contain binary at $contain" >&2; exit 1; }
    [ -x "$rootfs/bin/busybox" ] || Scripts/build-rootfs.sh "$rootfs"
    out=${BENCH_OUT:-$here/bench}
    readme=$here/README.md
    if [ -n "${BENCH_OUT:-}" ]; then
        mkdir -p "$out"
        cp README.md "$out/README.md"
        readme=$out/README.md
        [ ! -f bench/notes.md ] || cp bench/notes.md "$out/notes.md"
    fi
    work=$(mktemp -d /tmp/contain-bench.XXXXXX)
    ns=contain-bench-$$
    inner=
    cleanup() {
        # Stopped early (a signal, the time limit): the inner run gets TERM (timeout passes it on),
        # removes what it started, and is waited for.
        if [ -n "$inner" ] && kill -0 "$inner" 2>/dev/null; then
            kill -TERM "$inner" 2>/dev/null || true
            for _ in $(seq 1 600); do kill -0 "$inner" 2>/dev/null || break; sleep 0.2; done
        fi
        # Whatever the inner run left in the bench's network namespace (a supervisor, the name
        # server, conmon) was started by this run: end it by pid before the namespace goes; then
        # the processes of containers still in the bench's cgroups (had their supervisors gone).
        if [ -e /run/netns/"$ns" ]; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
            ip netns del "$ns" 2>/dev/null || true
        fi
        local groups=(/sys/fs/cgroup/contain-bench /sys/fs/cgroup/contain-bench-contain /sys/fs/cgroup/contain-bench-podman
                      /sys/fs/cgroup/*/contain-bench /sys/fs/cgroup/*/contain-bench-contain /sys/fs/cgroup/*/contain-bench-podman)
        for d in "${groups[@]}"; do
            [ -d "$d" ] || continue
            for pid in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        done
        remove_bench_cgroups
        # Network namespaces the inner run names with `ip netns add` leave their files in /run/netns.
        for f in /run/netns/bench-c /run/netns/bc[0-9]*; do [ ! -e "$f" ] || ip netns del "$(basename "$f")" 2>/dev/null || rm -f "$f"; done
        if [ -n "${BENCH_KEEP_WORK:-}" ]; then echo "[bench] raw results kept in $work" >&2; else rm -rf "$work"; fi
    }
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    ip netns add "$ns"
    start=$(date +%s)
    BENCH_WORK=$work timeout 1800 nsenter --net=/run/netns/"$ns" unshare -m --propagation private "$0" --inside &
    inner=$!
    wait "$inner"
    inner=
    echo "$(( $(date +%s) - start ))" > "$work/duration.txt"
    mkdir -p "$out"
    python3 Scripts/bench/report.py "$work" "$out" "$readme"
    echo "[bench] wrote $out/results.md, $out/results.png and the table in $readme ($(cat "$work/duration.txt") s)" >&2
    exit 0
fi

# ---- inside the bench network namespace and a private mount namespace ----
work=$BENCH_WORK
if [ "$(stat -f -c %T /sys/fs/cgroup)" = tmpfs ] && [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ]; then
    mount -t tmpfs bench-hides-unified /sys/fs/cgroup/unified
fi
mount -t tmpfs bench-shm /dev/shm
mkdir -p /run/crun && mount -t tmpfs -o mode=0700 bench-crun /run/crun
ip link set lo up
state=$work/state
mkdir -p "$state" "$work/crun" "$work/runc" "$work/json" "$work/state-disk" "$work/crun-disk"
# Every runtime keeps its state on a tmpfs, as under /run on Debian 12 (systemd mounts it), where
# docker, podman, containerd, runc and crun keep theirs. This machine's /run is on its disk
# (ext4): case 1 also runs contain and crun with their state there, in the same run.
for d in "$state" "$work/crun" "$work/runc"; do mount -t tmpfs -o mode=0700 bench-state "$d"; done
: > "$work/failed.txt"
say() { echo "[bench] $*" >&2; }
want() { case " $cases " in *" $1 "*) return 0 ;; esac; return 1; }
hf() {  # hyperfine NAME RUNS COMMAND...: each command is "label=command"
    local name=$1 n=$2; shift 2
    local args=()
    for c in "$@"; do args+=(--command-name "${c%%=*}" "${c#*=}"); done
    timeout 600 hyperfine -N --style basic --warmup 3 --runs "$n" --export-json "$work/json/$name.json" "${args[@]}" >&2
}
# run_case NAME FUNCTION: the function runs in a subshell of its own with errexit in force (a
# background job, so that a failure stops the case and not the run); a failed case is listed in
# failed.txt and left out of the report.
run_case() {
    want "$1" || return 0
    local t0=$SECONDS
    ( "$2" ) &
    if wait $!; then say "$1: done in $((SECONDS - t0)) s"; else say "$1: FAILED after $((SECONDS - t0)) s"; echo "$1" >> "$work/failed.txt"; fi
    echo "$1 $((SECONDS - t0))" >> "$work/stage-times.txt"
}
C() { timeout "${CT:-60}" "$contain" --root "$state" "$@"; }  # contain with the bench's state
cp_="--cgroup-parent contain-bench-contain"  # as two words: the form the hand-written parser of `run` takes

# Removes every container under the bench's state (running or not), by name or id, in batches.
remove_all_contain() {
    local ids
    ids=$(C ps -aq --no-trunc 2>/dev/null || true)
    [ -n "$ids" ] || return 0
    echo "$ids" | timeout 300 xargs -n 25 -P 4 timeout 120 "$contain" --root "$state" rm -f >/dev/null 2>&1 || true
}
podman_dir=$work/podman
P() {  # podman with private storage, run and temporary directories, crun, cgroupfs
    CONTAINERS_CONF=$podman_dir/containers.conf CONTAINERS_STORAGE_CONF=$podman_dir/storage.conf CONTAINERS_REGISTRIES_CONF=/dev/null \
        timeout "${PT:-120}" podman --root "$podman_dir/storage" --runroot "$podman_dir/run" --runtime crun --cgroup-manager cgroupfs \
        --events-backend file --tmpdir "$podman_dir/tmp" "$@"
}
inside_cleanup() {
    remove_all_contain
    if [ -f "$podman_dir/containers.conf" ]; then PT=300 P rm -f -t 0 -a >/dev/null 2>&1 || true; fi
    crun --root "$work/crun" delete -f bench-exec >/dev/null 2>&1 || true
    # The name server of the bench's networks: started by the bridged runs, it is this run's.
    local pidfile=$state/networks/nameserver.pid
    if [ -f "$pidfile" ] && grep -q -- "__nameserver" "/proc/$(cat "$pidfile")/cmdline" 2>/dev/null; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
    nft delete table ip benchnat 2>/dev/null || true
    umount "$work/crun-ro" 2>/dev/null || true
    remove_bench_cgroups
}
trap inside_cleanup EXIT
# Stopped early: everything of this run in its process group (the case running, hyperfine, xargs,
# clients) gets TERM too; detached supervisors, the name server and conmon have sessions of their
# own and are removed by inside_cleanup.
trap 'trap "" TERM INT HUP; kill -TERM 0 2>/dev/null; exit 143' TERM INT HUP

# OCI bundles matching contain's isolation.
B=Scripts/bench/make-bundle.py
python3 $B "$work/b-none" "$rootfs" /contain-bench/bench
python3 $B "$work/b-limits" "$rootfs" /contain-bench/bench --limits
python3 $B "$work/b-net" "$rootfs" /contain-bench/bench --netns /run/netns/bench-c
python3 $B "$work/b-exec" "$rootfs" /contain-bench/bench-exec sleep 1000

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

case_none() {
    say "case 1: /bin/true, no network (own netns)"
    hf none "$runs" \
        "contain=$contain --root $state run -q $cp_ --rootfs $rootfs -- /bin/true" \
        "crun=crun --root $work/crun run --bundle $work/b-none bench" \
        "runc=runc --root $work/runc run --bundle $work/b-none bench" \
        "contain, state on disk=$contain --root $work/state-disk run -q $cp_ --rootfs $rootfs -- /bin/true" \
        "crun, state on disk=crun --root $work/crun-disk run --bundle $work/b-none bench"
}

case_bridge() {
    say "case 2: /bin/true on a bridge"
    hf bridge "$runs" \
        "contain --net bridge=$contain --root $state run -q $cp_ --net bridge --rootfs $rootfs -- /bin/true" \
        "crun (no network)=crun --root $work/crun run --bundle $work/b-none bench" \
        "crun + ip -batch=sh $work/wired.sh crun" \
        "runc + ip -batch=sh $work/wired.sh runc"
}

case_limits() {
    say "case 3: /bin/true with memory, cpu and pids limits (no network)"
    hf limits "$runs" \
        "contain=$contain --root $state run -q $cp_ --memory 64M --cpu 50000 --pids 64 --rootfs $rootfs -- /bin/true" \
        "crun=crun --root $work/crun run --bundle $work/b-limits bench" \
        "runc=runc --root $work/runc run --bundle $work/b-limits bench"
}

case_concurrent() {
    say "case 4: $concurrent containers started at once on one bridge network"
    cat > "$work/many-contain.sh" <<W
[ \$# -gt 0 ] || set -- /bin/true
for i in \$(seq 1 $concurrent); do
    timeout 120 $contain --root $state run -q $cp_ --net bridge --rootfs $rootfs -- "\$@" &
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
    timeout 120 crun --root $work/crun run --bundle $work/bc/\$1 c\$1 >/dev/null
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
    timeout 180 sh "$work/many-contain.sh" /bin/sh -c 'ip -4 -o addr show eth0 | sed "s/.*inet \([0-9./]*\).*/\1/"; sleep 3' > "$work/addresses.txt"
    echo "$(sort -u "$work/addresses.txt" | grep -c .) $(grep -c . "$work/addresses.txt")" > "$work/distinct.txt"
}

case_rss() {
    say "case 5: peak RSS of the runtime process"
    rss() {  # label command...: 15 runs, the kernel's maxrss of the process (and what it waited for)
        local label=$1; shift
        for _ in $(seq 1 15); do timeout 60 /usr/bin/time -f "%M" -o "$work/rss.one" "$@" >/dev/null 2>&1 || true; cat "$work/rss.one"; done \
            | sort -n | awk -v l="$label" '{v[NR]=$1} END {print l "\t" v[int((NR+1)/2)]}' >> "$work/rss.txt"
    }
    : > "$work/rss.txt"
    rss "contain" $contain --root $state run -q $cp_ --rootfs $rootfs -- /bin/true
    rss "contain --net bridge" $contain --root $state run -q $cp_ --net bridge --rootfs $rootfs -- /bin/true
    rss "crun" crun --root $work/crun run --bundle $work/b-none bench
    rss "runc" runc --root $work/runc run --bundle $work/b-none bench
}

case_iperf() {
    say "case 6: TCP throughput container to container over contain's bridge, and host loopback (iperf3, 5 s)"
    local r2=$work/rootfs-iperf
    rm -rf "$r2"
    cp -a "$rootfs" "$r2"
    cp "$(command -v iperf3)" "$r2/usr/bin/iperf3"
    for lib in $(ldd "$(command -v iperf3)" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}'); do
        mkdir -p "$r2$(dirname "$lib")"; cp -L "$lib" "$r2$lib"
    done
    timeout 120 $contain --root $state run -q $cp_ --net bridge --name iperf-server --ip 10.88.0.250 --rootfs "$r2" -- iperf3 -s -1 >/dev/null &
    local server=$!
    # iperf3 -J exits 0 even when it could not connect (the server not listening yet): its JSON tells.
    for _ in $(seq 1 50); do
        if timeout 30 $contain --root $state run -q $cp_ --net bridge --rootfs "$r2" -- \
            iperf3 -c 10.88.0.250 -t 5 -J > "$work/json/iperf-bridge.json" 2>/dev/null \
            && ! grep -q '"error"' "$work/json/iperf-bridge.json"; then break; fi
        sleep 0.2
    done
    # A server that never got a client (every attempt failed) must not hold the run: stop it.
    kill -TERM $server 2>/dev/null || true
    wait $server || true
    timeout 30 iperf3 -s -1 -B 127.0.0.1 >/dev/null &
    sleep 0.5
    timeout 30 iperf3 -c 127.0.0.1 -t 5 -J > "$work/json/iperf-loopback.json"
    wait || true
}

case_timings() {
    say "phase breakdown: contain --timings, 30 runs each"
    for _ in $(seq 1 30); do
        timeout 30 $contain --root $state run -q --timings $cp_ --rootfs $rootfs -- /bin/true 2>> "$work/timings-none.txt"
        timeout 30 $contain --root $state run -q --timings $cp_ --net bridge --rootfs $rootfs -- /bin/true 2>> "$work/timings-bridge.txt"
    done
}

case_syscalls() {
    say "system calls of one --net none start (strace -f -c), contain and crun"
    # One start each outside strace first (contain's seccomp cache, as in the timed runs); the
    # counts include /bin/true's own few dozen, the same for both.
    C run -q $cp_ --rootfs "$rootfs" -- /bin/true
    timeout 120 strace -f -c -U name,calls,errors -o "$work/syscalls-contain.txt" \
        "$contain" --root "$state" run -q $cp_ --rootfs "$rootfs" -- /bin/true
    timeout 120 strace -f -c -U name,calls,errors -o "$work/syscalls-crun.txt" \
        crun --root "$work/crun" run --bundle "$work/b-none" bench
}

case_exec() {
    say "case 7: exec /bin/true into a running container (contain run -d / crun run -d, sleep 1000)"
    trap 'C rm -f bench-exec >/dev/null 2>&1 || true; crun --root "$work/crun" delete -f bench-exec >/dev/null 2>&1 || true' EXIT
    C run -d --name bench-exec $cp_ --rootfs "$rootfs" -- sleep 1000 >/dev/null
    timeout 60 crun --root "$work/crun" run -d --bundle "$work/b-exec" bench-exec </dev/null >/dev/null 2>&1
    [ "$(C inspect -f '{{.State.Status}}' bench-exec)" = running ]
    timeout 30 crun --root "$work/crun" state bench-exec | grep -q '"status": "running"'
    hf exec "$runs" \
        "contain exec=$contain --root $state exec bench-exec /bin/true" \
        "crun exec=crun --root $work/crun exec bench-exec /bin/true"
}

# Starts detached `sleep 100000` containers FIRST..LAST named PREFIX-i, in parallel batches; with
# bridge, every 5th publishes host port 20000+i. Fails unless every one of them runs.
start_idle() {  # PREFIX NET FIRST LAST
    local prefix=$1 net=$2 first=$3 last=$4
    cat > "$work/start-idle.sh" <<W
i=\$1
ports=
if [ $net = bridge ] && [ \$((i % 5)) -eq 0 ]; then ports="-p \$((20000 + i)):80"; fi
exec timeout 120 $contain --root $state run -d --name $prefix-\$i $cp_ --net $net \$ports --rootfs $rootfs -- sleep 100000 >/dev/null
W
    seq "$first" "$last" | timeout 600 xargs -P 4 -n 1 sh "$work/start-idle.sh" || true
    say "$prefix: $(running_count "$prefix") running (expected $last)"
}
running_count() { C ps --format '{{.Names}}' | grep -c "^$1-" || true; }

# The supervisors of the running containers whose names start with PREFIX-: the parents of their
# inits (contain ps --json gives the init's pid), checked to be `contain run ... --supervise-id`.
supervisors() { C ps --json | python3 Scripts/bench/procmem.py supervisors "$1-"; }

case_scaling() {
    say "case 8: /bin/true start on a bridge with 0, 100 and 250 live detached containers (50 of the 250 publishing a port)"
    trap remove_all_contain EXIT
    local cmd="$contain --root $state run -q $cp_ --net bridge --rootfs $rootfs -- /bin/true"
    # crun + ip (its own bridge, no contain state) beside the same live containers: how much
    # of the growth is the machine's (the kernel's work grows with the containers too).
    local crun_cmd="sh $work/wired.sh crun"
    [ "$(C ps -q | grep -c . || true)" = 0 ]
    hf scaling-0 "$scale_runs" "0 live=$cmd" "crun + ip=$crun_cmd"
    local t0=$SECONDS
    start_idle bench-bg bridge 1 100
    echo "start 100 $((SECONDS - t0))" >> "$work/scaling.txt"
    [ "$(running_count bench-bg)" = 100 ]
    hf scaling-100 "$scale_runs" "100 live=$cmd" "crun + ip=$crun_cmd"
    t0=$SECONDS
    start_idle bench-bg bridge 101 250
    echo "start 150 $((SECONDS - t0))" >> "$work/scaling.txt"
    [ "$(running_count bench-bg)" = 250 ]
    echo "ports $(C ps --format '{{.Ports}}' | grep -c '0.0.0.0:20' || true)" >> "$work/scaling.txt"
    hf scaling-250 "$scale_runs" "250 live=$cmd" "crun + ip=$crun_cmd"
    sleep 1
    python3 Scripts/bench/procmem.py sum "contain supervisor, bridge (250, 50 with a published port)" $(supervisors bench-bg) >> "$work/memory.txt"
    t0=$SECONDS
    remove_all_contain
    echo "remove 250 $((SECONDS - t0))" >> "$work/scaling.txt"
    [ "$(C ps -aq | grep -c . || true)" = 0 ]
}

case_memory() {
    say "case 9: memory of the detached supervisors of $idle idle containers, and of podman's conmon for as many"
    trap 'remove_all_contain; [ ! -f "$podman_dir/containers.conf" ] || PT=300 P rm -f -t 0 -a >/dev/null 2>&1 || true' EXIT
    start_idle bench-mem none 1 "$idle"
    [ "$(running_count bench-mem)" = "$idle" ]
    sleep 2
    python3 Scripts/bench/procmem.py sum "contain supervisor (--net none)" $(supervisors bench-mem) >> "$work/memory.txt"
    remove_all_contain
    [ "$(C ps -aq | grep -c . || true)" = 0 ]

    # podman: private storage (vfs), run and temporary directories, its lock memory in the bench's
    # own /dev/shm, crun's state in the bench's own /run/crun, cgroups under contain-bench-podman.
    mkdir -p "$podman_dir"/{storage,run,tmp,net}
    cp -a "$rootfs" "$podman_dir/rootfs"
    cat > "$podman_dir/containers.conf" <<W
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$podman_dir/events.log"
tmp_dir = "$podman_dir/tmp"
static_dir = "$podman_dir/storage/libpod"
volume_path = "$podman_dir/storage/volumes"
[network]
network_backend = "cni"
network_config_dir = "$podman_dir/net"
W
    cat > "$podman_dir/storage.conf" <<W
[storage]
driver = "vfs"
runroot = "$podman_dir/run"
graphroot = "$podman_dir/storage"
W
    export -f P
    export podman_dir
    seq 1 "$idle" | timeout 900 xargs -P 4 -I{} bash -c 'P run -d --name bench-pm-{} --network none --cgroup-parent /contain-bench-podman --rootfs "$podman_dir/rootfs" sleep 100000 >/dev/null'
    local ids
    ids=$(P ps -q --no-trunc)
    [ "$(echo "$ids" | grep -c .)" = "$idle" ]
    sleep 2
    local conmons
    conmons=$(P inspect --format '{{.State.ConmonPid}}' $ids)
    for pid in $conmons; do [ "$(cat /proc/$pid/comm)" = conmon ]; done
    python3 Scripts/bench/procmem.py sum "conmon (podman, --network none)" $conmons >> "$work/memory.txt"
    echo "conmon $(conmon --version | head -1 | awk '{print $3}'), podman $(podman --version | awk '{print $3}')" > "$work/memory-versions.txt"
    PT=300 P rm -f -t 0 -a >/dev/null
    [ -z "$(P ps -aq)" ]
}

case_callgrind() {
    say "case 10: instructions of one --net none start under callgrind (contain, crun)"
    # valgrind 3.19 cannot read the DWARF 5 of the release binary: a copy without debug
    # sections runs the same code. Profiles go to /dev/shm/vg: the bench's own tmpfs, which both
    # containers are given at /dev/shm (contain --ipc host, the bundle's bind), so the part that
    # runs after pivot_root can still write its profile.
    local vg=/dev/shm/vg
    trap 'umount "$work/crun-ro" 2>/dev/null || true' EXIT
    rm -rf "$vg" "$work/callgrind"; mkdir -p "$vg" "$work/callgrind"
    objcopy --strip-debug "$contain" "$work/contain-nodebug"
    python3 $B "$work/b-vg" "$rootfs" /contain-bench/bench --host-shm
    # crun re-executes itself from a sealed copy unless its binary is on a read-only mount; under
    # valgrind the copy cannot be executed, so its first exec (to fexecve) and its second (from a
    # read-only bind of the binary, as crun's own bind-mount copy is) are counted apart.
    touch "$work/crun-ro"
    mount --bind "$(command -v crun)" "$work/crun-ro"
    mount -o remount,bind,ro "$work/crun-ro"
    local vgopts=(--tool=callgrind --vgdb=no --trace-children=yes --trace-children-skip=/bin/true
                  --dump-before=execve --dump-before=fexecve --dump-before=syscall --dump-instr=no)
    vgrun() {  # NAME COMMAND...: one run under callgrind, its profiles NAME.*, its log NAME.log
        local name=$1; shift
        ( cd "$vg" && BENCH_VG=run timeout 300 valgrind "${vgopts[@]}" \
            --callgrind-out-file="$vg/$name.%q{BENCH_VG}.%p" "$@" ) 2> "$work/callgrind/$name.log"
    }
    # valgrind 3.19 does not implement seccomp(2): contain runs without its seccomp filter, as the
    # bundle does (it has none). One start outside valgrind first, as hyperfine's warm-up runs.
    local copts=(run -q $cp_ --ipc host --security-opt seccomp=unconfined --rootfs "$rootfs" -- /bin/true)
    C "${copts[@]}"
    for round in 1 2 3 4 5; do
        vgrun contain-$round "$work/contain-nodebug" --root "$state" "${copts[@]}" \
            || { tail -n 20 "$work/callgrind/contain-$round.log" >&2; exit 1; }
        vgrun crun-$round "$work/crun-ro" --root "$work/crun" run --bundle "$work/b-vg" bench \
            || { tail -n 20 "$work/callgrind/crun-$round.log" >&2; exit 1; }
        # The first exec fails at its fexecve under valgrind, by design: what it did up to there is counted.
        vgrun crunexec-$round crun --root "$work/crun" run --bundle "$work/b-vg" bench || true
        grep -q "^part:" "$vg"/crunexec-$round.run.*.1 || { tail -n 20 "$work/callgrind/crunexec-$round.log" >&2; exit 1; }
    done
    # Only the headers and totals of the profiles are kept.
    for f in "$vg"/*; do grep -E '^(pid|cmd|part|summary|totals):' "$f" > "$work/callgrind/$(basename "$f")" || true; done
    rm -rf "$vg"
    valgrind --version > "$work/callgrind/version.txt"
}

run_case none case_none
run_case bridge case_bridge
run_case limits case_limits
# Beside cases 1-3 (before the bursts of the concurrent and iperf cases, whose namespaces and
# cgroups the kernel is still tearing down for a while after them).
run_case timings case_timings
run_case syscalls case_syscalls
run_case concurrent case_concurrent
run_case rss case_rss
run_case iperf case_iperf
run_case exec case_exec
run_case scaling case_scaling
run_case memory case_memory
run_case callgrind case_callgrind

{ echo "kernel $(uname -r), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')";
  echo "crun $(crun --version | head -1 | awk '{print $3}'), runc $(runc --version | head -1 | awk '{print $3}'), hyperfine $(hyperfine --version | awk '{print $2}'), contain $($contain --version)";
  echo "cgroup layout as the runtimes saw it: $(stat -f -c %T /sys/fs/cgroup)"; } > "$work/machine.txt"
echo "$cases" > "$work/cases.txt"
