#!/usr/bin/env python3
"""Turns the raw results of Scripts/bench.sh into bench/results.md, bench/results.png and the
table between the bench markers in README.md.

    report.py WORK_DIR OUT_DIR README

A case that was not run (BENCH_CASES) or failed has no results: its sections and targets are left
out, and the cases that failed are named at the top.
"""
import json
import os
import re
import statistics
import subprocess
import sys

work, out, readme = sys.argv[1:4]


def path(*parts):
    return os.path.join(work, *parts)


def exists(*parts):
    return os.path.exists(path(*parts))


def lines(*parts):
    if not exists(*parts):
        return []
    with open(path(*parts)) as f:
        return [l.rstrip("\n") for l in f if l.strip()]


def load(name):
    if not exists("json", name + ".json"):
        return None
    with open(path("json", name + ".json")) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def ms(seconds):
    return seconds * 1000.0


failed = lines("failed.txt")
machine = lines("machine.txt")

# ---- start-up and exec latency (hyperfine against crun) ----
cases = [
    ("none", "1. `/bin/true`, no network (own netns)", "crun"),
    ("bridge", "2. `/bin/true` on a bridge", "crun (no network)"),
    ("limits", "3. `/bin/true` with memory, cpu and pids limits", "crun"),
    ("concurrent", "4. 50 containers at once on one bridge (whole batch)", "crun + ip -batch"),
    ("exec", "5. `exec /bin/true` into a running `sleep` container", "crun exec"),
]
results = {name: load(name) for name, _, _ in cases}
results = {k: v for k, v in results.items() if v}

table = ["| case | runtime | median | min | max | vs crun |", "|---|---|---:|---:|---:|---:|"]
for name, title, reference in cases:
    rows = results.get(name)
    if not rows:
        continue
    ref = rows[reference]["median"]
    first = True
    for label, r in rows.items():
        table.append("| %s | %s | %.1f ms | %.1f ms | %.1f ms | %.2fx |" % (
            title if first else "", label, ms(r["median"]), ms(r["min"]), ms(r["max"]), r["median"] / ref))
        first = False
hf_runs = next((len(next(iter(rows.values()))["times"]) for name, rows in results.items() if name != "concurrent"), None)

# ---- peak RSS ----
rss = {}
for line in lines("rss.txt"):
    label, kb = line.split("\t")
    rss[label] = int(kb)
rss_table = ["| runtime | peak RSS | vs crun |", "|---|---:|---:|"]
for label, kb in rss.items():
    rss_table.append("| %s | %.1f MiB | %.2fx |" % (label, kb / 1024.0, kb / rss["crun"]))


# ---- throughput ----
def gbits(name):
    try:
        with open(path("json", name + ".json")) as f:
            return json.load(f)["end"]["sum_received"]["bits_per_second"] / 1e9
    except (OSError, KeyError, ValueError):
        return None


bridge_tp, loop_tp = gbits("iperf-bridge"), gbits("iperf-loopback")
fmt = lambda v: "%.1f Gbit/s" % v if v is not None else "failed"
tp_table = ["| path | TCP throughput (iperf3, 5 s) |", "|---|---:|",
            "| container to container over contain's bridge | %s |" % fmt(bridge_tp),
            "| host loopback | %s |" % fmt(loop_tp)]

distinct = total = None
if exists("distinct.txt"):
    with open(path("distinct.txt")) as f:
        distinct, total = (int(x) for x in f.read().split())


# ---- phases ----
def phases(name):
    runs = []
    for line in lines(name):
        if "timings:" in line:
            runs.append(dict((k, float(v[:-2])) for k, v in re.findall(r"(\w+) ([0-9.]+ms)", line)))
        elif "timings after exec:" in line and runs:
            # The same run's end: how long the command ran as the runtime saw it, and the teardown.
            runs[-1].update((k, float(v[:-2])) for k, v in re.findall(r"(\w+) ([0-9.]+ms)", line))
    keys = list(runs[0].keys()) if runs else []
    return {k: statistics.median(r[k] for r in runs if k in r) for k in keys}, len(runs)


phase_table = ["| phase | what | `--net none` | `--net bridge` |", "|---|---|---:|---:|"]
# In the order the parent marks them. The init works from `join` on while the parent wires a
# bridge (network, veth, nameserver): its own phases (init, pivot, mounts) are marked as its
# progress lines are read, after the wiring, so on a bridge they show only what was left.
what = {"parse": "exec of contain, argument parsing, rootfs check", "cgroup": "record, cgroup creation and limits",
        "clone": "name files written, clone of the init (a fork that finds its configuration in memory)",
        "join": "the init's pid recorded (proceed only where the parent still places it: cgroup v1 joins itself)",
        "network": "network, bridge, rules, lease (store lock), while the init sets up", "veth": "veth with its peer in the namespace",
        "nameserver": "the name server asked to serve the networks (sync)",
        "reclaim": "looking for what dead runtimes left, while the init sets up",
        "init": "cgroup join (v1), hostname, lo, rootfs bind, name files, /dev", "pivot": "pivot_root, old root detached",
        "mounts": "/proc, /sys, cgroup, eth0, masked paths", "exec": "command lookup, execve", "total": "start to the command's exec",
        "command": "after the exec: `/bin/true` runs, its namespaces go, the runtime reaps it",
        "teardown": "then: the cgroups and the record removed (and a bridge's lease and veth)"}
none, n1 = phases("timings-none.txt")
bridge, n2 = phases("timings-bridge.txt")
for key in what:
    if key in none or key in bridge:
        phase_table.append("| %s | %s | %s | %s |" % (key, what[key],
                           "%.2f ms" % none[key] if key in none else "", "%.2f ms" % bridge[key] if key in bridge else ""))

# ---- system calls of one --net none start (strace -f -c) ----
def syscalls(name):
    counts = {}
    for l in lines(name):
        parts = l.split()
        if len(parts) >= 2 and parts[1].isdigit() and parts[0] not in ("syscall", "total"):
            counts[parts[0]] = int(parts[1])
    return counts


sc = {"contain": syscalls("syscalls-contain.txt"), "crun": syscalls("syscalls-crun.txt")}
sc_groups = [
    ("filesystem entries made or removed", ["mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
                                            "symlink", "symlinkat", "link", "linkat", "mknod", "mknodat"]),
    ("mounts", ["mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "mount_setattr"]),
    ("files opened", ["open", "openat", "openat2", "creat"]),
    ("reads and writes", ["read", "write", "pread64", "pwrite64", "readv", "writev", "sendmsg", "recvmsg", "recvfrom", "sendto"]),
    ("lookups (stat, access, readlink, getdents)", ["stat", "lstat", "fstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
                                                     "readlink", "readlinkat", "getdents64", "statfs", "fstatfs"]),
    ("memory (mmap, mprotect, brk ...)", ["mmap", "munmap", "mprotect", "brk", "madvise", "mremap"]),
    ("processes and namespaces", ["clone", "clone3", "fork", "vfork", "execve", "execveat", "wait4", "waitid", "unshare", "setns"]),
]
syscall_table = ["| system calls | contain | crun |", "|---|---:|---:|"]
if sc["contain"] and sc["crun"]:
    grouped = set()
    for label, names in sc_groups:
        grouped.update(names)
        cells = []
        for runtime in ("contain", "crun"):
            found = sorted(((sc[runtime][n], n) for n in names if sc[runtime].get(n)), reverse=True)
            detail = ", ".join("%s %d" % (n, c) for c, n in found[:6]) if label in ("filesystem entries made or removed", "mounts") else ""
            cells.append("%d%s" % (sum(c for c, _ in found), " (%s)" % detail if detail else ""))
        syscall_table.append("| %s | %s | %s |" % (label, cells[0], cells[1]))
    syscall_table.append("| everything else | %d | %d |" % tuple(sum(c for n, c in sc[r].items() if n not in grouped) for r in ("contain", "crun")))
    syscall_table.append("| **all** | **%d** | **%d** |" % tuple(sum(sc[r].values()) for r in ("contain", "crun")))

# ---- scaling: a start on a bridge with live detached containers ----
scaling, scaling_crun = {}, {}
for n in (0, 100, 250):
    r = load("scaling-%d" % n)
    if r:
        scaling[n] = next(iter(r.values()))
        if "crun + ip" in r:
            scaling_crun[n] = r["crun + ip"]
scaling_table = ["| live detached containers on the network | contain median | min | max | vs 0 | crun + ip median | vs 0 |",
                 "|---|---:|---:|---:|---:|---:|---:|"]
for n, r in scaling.items():
    base, c, cbase = scaling.get(0), scaling_crun.get(n), scaling_crun.get(0)
    scaling_table.append("| %d%s | %.1f ms | %.1f ms | %.1f ms | %s | %s | %s |" % (
        n, " (50 publishing a port)" if n == 250 else "", ms(r["median"]), ms(r["min"]), ms(r["max"]),
        "%.2fx" % (r["median"] / base["median"]) if base else "",
        "%.1f ms" % ms(c["median"]) if c else "", "%.2fx" % (c["median"] / cbase["median"]) if c and cbase else ""))
scaling_info = dict((l.rsplit(" ", 1)[0], l.rsplit(" ", 1)[1]) for l in lines("scaling.txt"))

# ---- memory of the detached supervisors and of conmon ----
memory = []
for line in lines("memory.txt"):
    label, count, pss, pss_anon, rss_kb, rss_anon = line.split("\t")
    memory.append((label, int(count), int(pss), int(pss_anon), int(rss_kb), int(rss_anon)))
memory_table = ["| process (one per container) | containers | Pss per container | RssAnon per container | Rss per container |",
                "|---|---:|---:|---:|---:|"]
for label, count, pss, pss_anon, rss_kb, rss_anon in memory:
    memory_table.append("| %s | %d | %.0f KiB | %.0f KiB | %.0f KiB |" % (label, count, pss / count, rss_anon / count, rss_kb / count))
mem_by = {m[0]: m for m in memory}
sup = mem_by.get("contain supervisor (--net none)")
conmon = next((m for m in memory if m[0].startswith("conmon")), None)
memory_versions = " ".join(lines("memory-versions.txt"))


# ---- instruction counts (callgrind) ----
def callgrind(round_):
    """{(runtime, tag, 1 for pid 1 else 0): (cmd, Ir)} for one round ("1", "2", ...): each process
    image's parts summed. Profile files are
    RUNTIME-ROUND.TAG.PID, then .PART for each part after the first dump."""
    groups = {}
    directory = path("callgrind")
    if not os.path.isdir(directory):
        return {}
    for name in sorted(os.listdir(directory)):
        m = re.match(r"^(contain|crun|crunexec)-(\w+)\.(\w+)\.(\d+)(?:\.(\d+))?$", name)
        if not m or m.group(2) != str(round_):
            continue
        runtime, _, tag, pid, part = m.groups()
        # crun's first exec fails at its fexecve under valgrind: what follows (the error
        # message, exit) is not part of a real run, and is the final dump (no part number).
        if runtime == "crunexec" and part is None:
            continue
        cmd, ir = "", 0
        with open(os.path.join(directory, name)) as f:
            for line in f:
                if line.startswith("cmd:"):
                    cmd = line[4:].strip()
                elif line.startswith("summary:"):
                    ir = int(line.split()[1])
        # The role, not the pid (the runtime's own pid differs from run to run; a child in the
        # container's PID namespace is pid 1 there).
        key = (runtime, tag, 1 if int(pid) == 1 else 0)
        old = groups.get(key, (cmd, 0))
        groups[key] = (old[0] or cmd, old[1] + ir)
    return groups


def describe(runtime, tag, pid, cmd):
    if runtime == "contain":
        if tag == "init":
            return "the init (`contain __contain_init`, re-executed), to its exec of `/bin/true`"
        if pid == 1:
            return "its child, the init (forked, no exec), from clone to the exec of `/bin/true`"
        return "`contain run`: the runtime process, start to exit"
    if runtime == "crunexec":
        return "`crun` as started: to its re-exec from a read-only copy of itself (`fexecve`)"
    if pid == 1:
        return "its child (the container's process), from clone to the exec of `/bin/true`"
    return "`crun` from its read-only copy: the runtime process, start to exit"


ir_rounds = {r: callgrind(r) for r in range(1, 10)}
ir_rounds = {r: g for r, g in ir_rounds.items() if g}
ir_table = ["| runtime | process | instructions (Ir), median of %d runs | spread (max - min) |" % len(ir_rounds), "|---|---|---:|---:|"]
ir_totals = {}


def of_runtime(key, runtime):
    return key[0] == runtime or (runtime == "crun" and key[0] == "crunexec")


def spread(values):
    return "%.2f %%" % (100.0 * (max(values) - min(values)) / statistics.median(values)) if len(values) > 1 else ""


if ir_rounds:
    for runtime in ("contain", "crun"):
        keys = sorted({k for g in ir_rounds.values() for k in g if of_runtime(k, runtime)},
                      key=lambda k: ({"crunexec": 0}.get(k[0], 1), 1 if k[1] == "init" else 0, k[2] == 1))
        first = True
        for key in keys:
            values = [g[key][1] for g in ir_rounds.values() if key in g]
            cmd = next(g[key][0] for g in ir_rounds.values() if key in g)
            ir_table.append("| %s | %s | %s | %s |" % (runtime if first else "", describe(*key, cmd), format(int(statistics.median(values)), ","), spread(values)))
            first = False
        totals = [sum(ir for k, (_, ir) in g.items() if of_runtime(k, runtime)) for g in ir_rounds.values()]
        ir_totals[runtime] = statistics.median(totals)
        ir_table.append("| | **all of it** | **%s** | %s |" % (format(int(ir_totals[runtime]), ","), spread(totals)))
unhandled = {}
for name in ("contain", "crun"):
    for line in lines("callgrind", "%s-1.log" % name):
        m = re.search(r"unhandled amd64-linux syscall: (\d+)", line)
        if m:
            unhandled.setdefault(name, {}).setdefault(m.group(1), 0)
            unhandled[name][m.group(1)] += 1
vg_version = " ".join(lines("callgrind", "version.txt"))

# ---- targets ----
r = results
targets = []
if "none" in r:
    targets.append(("`--net none` median at most 0.8x crun's", r["none"]["contain"]["median"] / r["none"]["crun"]["median"], 0.8, "<="))
if "bridge" in r:
    targets.append(("`--net bridge` median at most 1.0x crun's without a bridge",
                    r["bridge"]["contain --net bridge"]["median"] / r["bridge"]["crun (no network)"]["median"], 1.0, "<="))
if "concurrent" in r:
    targets.append(("50 concurrent bridged starts at least 2x faster than crun + ip",
                    r["concurrent"]["crun + ip -batch"]["median"] / r["concurrent"]["contain"]["median"], 2.0, ">="))
if "contain" in rss and "crun" in rss:
    targets.append(("peak RSS at most 2x crun's", rss["contain"] / rss["crun"], 2.0, "<="))
if "exec" in r:
    targets.append(("`exec` median at most 1.0x crun's", r["exec"]["contain exec"]["median"] / r["exec"]["crun exec"]["median"], 1.0, "<="))
if 0 in scaling and 250 in scaling:
    targets.append(("`--net bridge` start with 250 live containers at most 1.2x the start with none",
                    scaling[250]["median"] / scaling[0]["median"], 1.2, "<="))
target_table = ["| target | measured | met |", "|---|---:|---|"]
for text, value, limit, op in targets:
    met = value <= limit if op == "<=" else value >= limit
    target_table.append("| %s | %.2fx | %s |" % (text, value, "yes" if met else "**no**"))

# ---- chart: medians of cases 1-3 ----
png = os.path.join(out, "results.png")
chart = [(name, rows) for name, rows in ((n, results.get(n)) for n, _, _ in cases[:3]) if rows]
if chart:
    data = path("chart.dat")
    with open(data, "w") as f:
        for name, rows in chart:
            for label, row in rows.items():
                f.write('"%s\\n(%s)" %.2f\n' % (label, name, ms(row["median"])))
    script = """set terminal pngcairo size 1100,520 font ",10"
set output "%s"
set title "container start, median of %d runs (lower is better)"
set ylabel "ms"
set style fill solid 0.8 border -1
set boxwidth 0.7
set grid ytics
set xtics rotate by -30 left
set yrange [0:*]
unset key
plot "%s" using 0:2:xtic(1) with boxes lc rgb "#3b7dd8", "" using 0:2:(sprintf("%%.1f",$2)) with labels offset 0,0.8
""" % (png, len(next(iter(chart[0][1].values()))["times"]), data)
    subprocess.run(["gnuplot"], input=script.encode(), check=True)

# ---- results.md ----
md = ["# contain beside crun and runc", "",
      "Written by `Scripts/bench.sh` (one command, from a clean clone, as root). Every number in a table",
      "comes from the same run; ratios compare with crun measured in that same run. The machine is a",
      "noisy 2-core VM: absolute numbers move by 10-20 % between runs, the ratios much less.", ""]
md += ["Machine: " + "; ".join(machine), ""]
duration = lines("duration.txt")
if duration:
    md += ["The whole run took %s s." % duration[0], ""]
if failed:
    md += ["**Failed in this run, left out below:** %s (see the run's output)." % ", ".join(failed), ""]
if table[2:]:
    md += ["## Start-up and exec", "",
           "hyperfine, 3 warm-up runs, then %s runs per command (10 for case 4)." % (hf_runs or "the given number of"), ""]
    md += table + [""]
    if chart:
        md += ["![medians](results.png)", ""]
    if total is not None:
        md += ["In case 4, all %d containers got distinct addresses: %d distinct of %d printed." % (total, distinct, total), ""]
    if "exec" in results:
        md += ["Case 5: `contain exec NAME /bin/true` into a `contain run -d ... -- sleep 1000`, beside `crun exec` into",
               "a `crun run -d` of the same bundle with `sleep 1000`: each joins the container's namespaces and cgroup,",
               "runs `/bin/true` there and returns its status.", ""]
md += ["## Targets", ""] + target_table + [""]
if scaling:
    md += ["## Start-up beside many live containers", "",
           "`contain run -q --net bridge ... -- /bin/true` (hyperfine, 3 warm-up runs, %d runs each) on the default" % len(next(iter(scaling.values()))["times"]),
           "bridge network with none, then 100, then 250 live detached containers (`contain run -d --net bridge",
           "... -- sleep 100000`) on it; every fifth publishes a host port (`-p 20000+i:80`), 50 of the 250.",
           "Beside it, in the same runs, crun + `ip -batch` (case 2's script: its own namespace, veth and bridge, no",
           "state shared with contain) beside the same live containers: the part of the growth that is the machine's."]
    if scaling_info:
        md += ["Starting them (4 at a time) took %s s for the first 100 and %s s for the next 150; removing all 250 (`rm -f`, 4 x 25 at a time) %s s; %s of them showed a published port in `ps`." % (
            scaling_info.get("start 100", "?"), scaling_info.get("start 150", "?"), scaling_info.get("remove 250", "?"), scaling_info.get("ports", "?"))]
    md += [""] + scaling_table + [""]
if memory:
    md += ["## Memory of what stays behind a detached container", "",
           "One process stays beside each detached container: contain's supervisor (`contain run -d`), podman's",
           "conmon. Each row: the sum over those processes of `Pss` and `Rss` (`/proc/PID/smaps_rollup`) and",
           "`RssAnon` (`/proc/PID/status`), divided by the number of containers, all idle (`sleep 100000`). Pss",
           "shares each page among the processes that map it, so the binary's pages count once across all of",
           "them; RssAnon is each process's own anonymous memory. The supervisors are the parents of the",
           "containers' inits (`contain ps --json`), checked to be `contain run ... --supervise-id ID`; conmon's",
           "pids are podman's (`podman inspect --format '{{.State.ConmonPid}}'`), for containers run with",
           "`podman --runtime crun --cgroup-manager cgroupfs run -d --network none --rootfs ROOTFS sleep 100000`",
           "(private storage, vfs)%s." % ((", " + memory_versions) if memory_versions else ""), ""]
    md += memory_table + [""]
    if sup and conmon:
        md += ["contain's supervisor per container against conmon's: Pss %.2fx, RssAnon %.2fx." % (
            (sup[2] / sup[1]) / (conmon[2] / conmon[1]), (sup[5] / sup[1]) / (conmon[5] / conmon[1])), ""]
if ir_totals:
    t1c, t1r = ir_totals.get("contain"), ir_totals.get("crun")
    md += ["## Instructions of one start", "",
           "User-space instructions executed (callgrind's Ir; %s) by each process of one" % (vg_version or "valgrind"),
           "`contain run -q --ipc host --security-opt seccomp=unconfined --rootfs ROOTFS -- /bin/true` and one",
           "`crun run` of the same bundle as case 1 (no network, own network namespace; no seccomp filter), up to",
           "the exec of `/bin/true`, which is not counted. Unlike times, these counts do not move with the",
           "machine's load: the spread column shows how much they moved between the runs.", ""]
    md += ir_table + [""]
    if t1c and t1r:
        md += ["contain executes %.2fx the instructions of crun for the same start." % (t1c / t1r), ""]
    md += ["How they were counted, and where that differs from a run without valgrind:", "",
           "- `valgrind --tool=callgrind --trace-children=yes --trace-children-skip=/bin/true --dump-before=execve`",
           "  `--dump-before=fexecve --dump-before=syscall`: a profile part is written before every exec and every",
           "  `syscall()` call (which both runtimes use for clone), so each process image's count is the sum of its own",
           "  parts, and a forked child does not inherit its parent's count.",
           "- The release binary's DWARF 5 debug information stops valgrind 3.19's reader: contain runs as a copy",
           "  without debug sections (`objcopy --strip-debug`), the same code.",
           "- contain's init is a fork of the runtime that runs the init's code without an exec, so its count starts",
           "  at the clone. crun re-executes itself from a sealed copy unless its binary is on a read-only mount;",
           "  that copy cannot be run under valgrind either, so crun's first exec is counted up to its `fexecve`, and its",
           "  second as a run of the binary from a read-only bind mount, which it takes as its own copy.",
           "- valgrind 3.19 does not implement `seccomp(2)`: contain runs with `--security-opt seccomp=unconfined`,",
           "  as the bundle has no seccomp filter either (in case 1, contain installs docker's default profile).",
           "- Both containers share the host's `/dev/shm` (`--ipc host`; in the bundle, no IPC namespace and a bind",
           "  of /dev/shm instead of a tmpfs), so the part of each that runs after `pivot_root` can still write its",
           "  profile there.",
           "- valgrind 3.19 does not know `openat2` (syscall 437) and answers ENOSYS: contain's init then skips binding",
           "  its generated /etc/hosts, /etc/hostname and /etc/resolv.conf (each lookup is `openat2(RESOLVE_IN_ROOT)`,",
           "  best effort), and crun falls back to resolving its mount targets in user space. The container side of",
           "  each count therefore differs from a plain run: contain's is lower, crun's higher. Calls refused in this",
           "  run: %s." % (", ".join("%s %s" % (name, ", ".join("syscall %s x%d" % kv for kv in counts.items())) for name, counts in unhandled.items()) or "none"),
           ""]
if rss:
    md += ["## Peak RSS", "", "`/usr/bin/time -f %M`, median of 15 runs: the largest resident set of the runtime and the processes it waited for.", ""] + rss_table + [""]
if bridge_tp is not None or loop_tp is not None:
    md += ["## Throughput", ""] + tp_table + [""]
if n1 or n2:
    md += ["## Where contain's start goes", "", "`contain run --timings`, median of %d runs each; each phase ends where the next begins." % max(n1, n2), ""] + phase_table + [""]
cpu_table = ["| case | runtime | user | system | wall (mean) |", "|---|---|---:|---:|---:|"]
for name, title in (("none", "1. `--net none`"), ("concurrent", "4. 50 at once (all of them)"), ("exec", "5. `exec`")):
    for label, row in (results.get(name) or {}).items():
        if label.startswith("runc"):
            continue
        cpu_table.append("| %s | %s | %.1f ms | %.1f ms | %.1f ms |" % (title, label, ms(row["user"]), ms(row["system"]), ms(row["mean"])))
if len(cpu_table) > 2 or len(syscall_table) > 2:
    md += ["## Beside crun: CPU time and system calls of one start", "",
           "The CPU time each start used (hyperfine's means over the runs of cases 1, 4 and 5: user space, kernel; in",
           "case 4, of all 50 starts, on 2 CPUs), and",
           "`strace -f -c` of one `contain run -q ... -- /bin/true` (`--net none`) and one `crun run` of case 1's bundle:",
           "every process of each, /bin/true's own included (the same few dozen for both). Counts, not times (strace",
           "slows every call): what each asks of the kernel for the same container.", ""]
    if len(cpu_table) > 2:
        md += cpu_table + [""]
    if len(syscall_table) > 2:
        md += syscall_table + [""]
stage_times = lines("stage-times.txt")
if stage_times:
    md += ["## How long each stage took", "", "| stage | seconds |", "|---|---:|"] + ["| %s | %s |" % tuple(l.split()) for l in stage_times] + [""]
notes_path = os.path.join(out, "notes.md")
if os.path.exists(notes_path):
    with open(notes_path) as f:
        md += [f.read().rstrip(), ""]
with open(os.path.join(out, "results.md"), "w") as f:
    f.write("\n".join(md))

# README: the start-up table and the targets between the markers.
with open(readme) as f:
    text = f.read()
block = "\n".join(["<!-- bench:begin -->", "Machine: " + "; ".join(machine), ""] + table + [""] + target_table
                  + ["", "Full results, RSS, throughput, scaling, memory, instruction counts, system calls and the phase breakdown: [bench/results.md](bench/results.md).",
                     "<!-- bench:end -->"])
if "<!-- bench:begin -->" in text:
    text = re.sub(r"<!-- bench:begin -->.*?<!-- bench:end -->", lambda m: block, text, flags=re.S)
else:
    text += "\n" + block + "\n"
with open(readme, "w") as f:
    f.write(text)
