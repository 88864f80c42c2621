#!/usr/bin/env python3
"""Turns the raw results of Scripts/bench.sh into bench/results.md, bench/results.png and the
table between the bench markers in README.md.

    report.py WORK_DIR OUT_DIR README
"""
import json
import os
import re
import statistics
import subprocess
import sys

work, out, readme = sys.argv[1:4]


def load(name):
    with open(os.path.join(work, "json", name + ".json")) as f:
        return {r["command"]: r for r in json.load(f)["results"]}


def ms(seconds):
    return seconds * 1000.0


cases = [
    ("none", "1. `/bin/true`, no network (own netns)", "crun"),
    ("bridge", "2. `/bin/true` on a bridge", "crun (no network)"),
    ("limits", "3. `/bin/true` with memory, cpu and pids limits", "crun"),
    ("concurrent", "4. 50 containers at once on one bridge (whole batch)", "crun + ip -batch"),
]
results = {name: load(name) for name, _, _ in cases}

lines = []
with open(os.path.join(work, "machine.txt")) as f:
    machine = [l.strip() for l in f if l.strip()]

table = ["| case | runtime | median | min | max | vs crun |", "|---|---|---:|---:|---:|---:|"]
for name, title, reference in cases:
    rows = results[name]
    ref = rows[reference]["median"]
    first = True
    for label, r in rows.items():
        table.append("| %s | %s | %.1f ms | %.1f ms | %.1f ms | %.2fx |" % (
            title if first else "", label, ms(r["median"]), ms(r["min"]), ms(r["max"]), r["median"] / ref))
        first = False

rss = {}
with open(os.path.join(work, "rss.txt")) as f:
    for line in f:
        label, kb = line.rstrip("\n").split("\t")
        rss[label] = int(kb)
rss_table = ["| runtime | peak RSS | vs crun |", "|---|---:|---:|"]
for label, kb in rss.items():
    rss_table.append("| %s | %.1f MiB | %.2fx |" % (label, kb / 1024.0, kb / rss["crun"]))


def gbits(name):
    try:
        with open(os.path.join(work, "json", name + ".json")) as f:
            return json.load(f)["end"]["sum_received"]["bits_per_second"] / 1e9
    except (OSError, KeyError, ValueError):
        return None


bridge_tp, loop_tp = gbits("iperf-bridge"), gbits("iperf-loopback")
fmt = lambda v: "%.1f Gbit/s" % v if v is not None else "failed"
tp_table = ["| path | TCP throughput (iperf3, 5 s) |", "|---|---:|",
            "| container to container over contain's bridge | %s |" % fmt(bridge_tp),
            "| host loopback | %s |" % fmt(loop_tp)]

with open(os.path.join(work, "distinct.txt")) as f:
    distinct, total = (int(x) for x in f.read().split())


def phases(path):
    runs = []
    with open(path) as f:
        for line in f:
            if "timings:" in line:
                runs.append(dict((k, float(v[:-2])) for k, v in re.findall(r"(\w+) ([0-9.]+ms)", line)))
    keys = list(runs[0].keys()) if runs else []
    return {k: statistics.median(r[k] for r in runs if k in r) for k in keys}, len(runs)


phase_table = ["| phase | what | `--net none` | `--net bridge` |", "|---|---|---:|---:|"]
what = {"parse": "exec of contain, argument parsing, rootfs check", "reclaim": "looking for what dead runtimes left", "cgroup": "record, cgroup creation and limits",
        "network": "network, bridge, rules, lease (store lock)", "clone": "clone + exec of the init",
        "veth": "veth with its peer in the namespace", "nameserver": "the name server asked to serve the networks (sync)", "join": "config sent, pid into the cgroup, proceed",
        "init": "hostname, lo and eth0, rootfs bind, /dev", "pivot": "pivot_root, old root detached",
        "mounts": "/proc, /sys", "exec": "command lookup, execve", "total": "start to the command's exec"}
none, n1 = phases(os.path.join(work, "timings-none.txt"))
bridge, n2 = phases(os.path.join(work, "timings-bridge.txt"))
for key in what:
    if key in none or key in bridge:
        phase_table.append("| %s | %s | %s | %s |" % (key, what[key],
                           "%.2f ms" % none[key] if key in none else "", "%.2f ms" % bridge[key] if key in bridge else ""))

r = results
targets = [
    ("`--net none` median at most 0.8x crun's", r["none"]["contain"]["median"] / r["none"]["crun"]["median"], 0.8, "<="),
    ("`--net bridge` median at most 1.0x crun's without a bridge",
     r["bridge"]["contain --net bridge"]["median"] / r["bridge"]["crun (no network)"]["median"], 1.0, "<="),
    ("50 concurrent bridged starts at least 2x faster than crun + ip",
     r["concurrent"]["crun + ip -batch"]["median"] / r["concurrent"]["contain"]["median"], 2.0, ">="),
    ("peak RSS at most 2x crun's", rss["contain"] / rss["crun"], 2.0, "<="),
]
target_table = ["| target | measured | met |", "|---|---:|---|"]
for text, value, limit, op in targets:
    met = value <= limit if op == "<=" else value >= limit
    target_table.append("| %s | %.2fx | %s |" % (text, value, "yes" if met else "**no**"))

# Chart: medians of cases 1-3.
data = os.path.join(work, "chart.dat")
with open(data, "w") as f:
    for name, title, _ in cases[:3]:
        for label, row in results[name].items():
            f.write('"%s\\n(%s)" %.2f\n' % (label, name, ms(row["median"])))
png = os.path.join(out, "results.png")
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
""" % (png, len(results["none"]["contain"]["times"]), data)
subprocess.run(["gnuplot"], input=script.encode(), check=True)

md = ["# contain beside crun and runc", "",
      "Written by `Scripts/bench.sh` (one command, from a clean clone, as root). Every number in a table",
      "comes from the same run; ratios compare with crun measured in that same run. The machine is a",
      "noisy 2-core VM: absolute numbers move by 10-20 % between runs, the ratios much less.", ""]
md += ["Machine: " + "; ".join(machine), ""]
md += ["## Start-up", "", "hyperfine, 3 warm-up runs, then %d runs per command (10 for case 4)." % len(results["none"]["contain"]["times"]), ""]
md += table + [""]
md += ["![medians](results.png)", ""]
md += ["In case 4, all %d containers got distinct addresses: %d distinct of %d printed." % (total, distinct, total), ""]
md += ["## Targets", ""] + target_table + [""]
md += ["## Peak RSS", "", "`/usr/bin/time -f %M`, median of 15 runs: the largest resident set of the runtime and the processes it waited for.", ""] + rss_table + [""]
md += ["## Throughput", ""] + tp_table + [""]
md += ["## Where contain's start goes", "", "`contain run --timings`, median of %d runs each; each phase ends where the next begins." % n1, ""] + phase_table + [""]
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
                  + ["", "Full results, RSS, throughput and the phase breakdown: [bench/results.md](bench/results.md).",
                     "<!-- bench:end -->"])
if "<!-- bench:begin -->" in text:
    text = re.sub(r"<!-- bench:begin -->.*?<!-- bench:end -->", lambda m: block, text, flags=re.S)
else:
    text += "\n" + block + "\n"
with open(readme, "w") as f:
    f.write(text)
