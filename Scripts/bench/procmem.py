#!/usr/bin/env python3
"""Memory of a set of processes, for Scripts/bench.sh.

    procmem.py supervisors PREFIX < ps.json   the pids of the detached supervisors of the running
                                              containers whose names start with PREFIX (`contain
                                              ps --json` on stdin): each init's parent, checked to
                                              be a `contain run ... --supervise-id ID` of that id
    procmem.py sum LABEL PID...               one line: LABEL, count, then the sums over the pids
                                              of Pss, Pss_Anon, Rss (smaps_rollup) and RssAnon
                                              (status), in kB, tab-separated
"""
import json
import sys


def parent(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    raise ValueError("no PPid for %d" % pid)


def cmdline(pid):
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")


def supervisors(prefix):
    pids = []
    for c in json.load(sys.stdin):
        if not c.get("name", "").startswith(prefix) or c.get("status") != "running":
            continue
        sup = parent(c["pid"])
        args = cmdline(sup)
        if b"--supervise-id" not in args or c["id"].encode() not in args:
            raise SystemExit("the parent %d of %s's init %d is not its supervisor: %r" % (sup, c["name"], c["pid"], args[:4]))
        pids.append(sup)
    print("\n".join(str(p) for p in pids))


def fields(path, names):
    values = {}
    with open(path) as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in names:
                values[key] = int(rest.split()[0])
    return values


def total(label, pids):
    sums = {"Pss": 0, "Pss_Anon": 0, "Rss": 0, "RssAnon": 0}
    for pid in pids:
        rollup = fields("/proc/%d/smaps_rollup" % pid, ("Pss", "Pss_Anon", "Rss"))
        status = fields("/proc/%d/status" % pid, ("RssAnon",))
        for key in ("Pss", "Pss_Anon", "Rss"):
            sums[key] += rollup[key]
        sums["RssAnon"] += status["RssAnon"]
    print("\t".join([label, str(len(pids))] + [str(sums[k]) for k in ("Pss", "Pss_Anon", "Rss", "RssAnon")]))


def main():
    if sys.argv[1] == "supervisors":
        supervisors(sys.argv[2])
    elif sys.argv[1] == "sum":
        pids = [int(p) for p in sys.argv[3:]]
        if not pids:
            raise SystemExit("no processes for " + sys.argv[2])
        total(sys.argv[2], pids)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
