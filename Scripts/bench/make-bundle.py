#!/usr/bin/env python3
"""Writes an OCI bundle (config.json) for crun and runc that matches what `contain run` does:
the same namespaces (pid, uts, mount, ipc, network, cgroup), the same mounts (/proc, a tmpfs
/dev with devpts and shm, /sys read-only, the container's cgroups read-only at /sys/fs/cgroup),
docker's masked and read-only paths and its 14 capabilities (contain's defaults), and the same
limits. Not the same: the rootfs is used as it is (contain's default is a copy-on-write overlay
over it, as docker's storage driver mounts one before it calls its runtime), no seccomp filter
(contain loads docker's default profile, compiled once and cached), and no generated
/etc/hosts, /etc/hostname and /etc/resolv.conf (contain binds its own, as docker does).

    make-bundle.py BUNDLE_DIR ROOTFS CGROUP_PATH [--limits] [--netns PATH] [--host-shm] [ARG...]

--host-shm: no IPC namespace, and the host's /dev/shm bound at /dev/shm (contain's --ipc host),
for the instruction counts, whose profiles are written there from inside the container.
"""
import json
import os
import sys


def main():
    args = sys.argv[1:]
    limits = "--limits" in args
    if limits:
        args.remove("--limits")
    host_shm = "--host-shm" in args
    if host_shm:
        args.remove("--host-shm")
    netns = None
    if "--netns" in args:
        i = args.index("--netns")
        netns = args[i + 1]
        del args[i:i + 2]
    bundle, rootfs, cgroup_path, *command = args
    network = {"type": "network"}
    if netns:
        network["path"] = netns
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": command or ["/bin/true"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
            "cwd": "/",
            "noNewPrivileges": True,
        },
        "root": {"path": os.path.abspath(rootfs), "readonly": False},
        "hostname": "bench",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "cgroupsPath": cgroup_path,
            "namespaces": [{"type": "pid"}, network, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
                           {"type": "cgroup"}],
            "resources": {"devices": [{"allow": False, "access": "rwm"}]},
            # docker's, as contain's MaskedPaths.dockerMasked and dockerReadOnly.
            "maskedPaths": ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
                            "/sys/devices/virtual/powercap"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    caps = ["CAP_" + c for c in ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                                 "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")]
    config["process"]["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    if host_shm:
        config["linux"]["namespaces"] = [n for n in config["linux"]["namespaces"] if n["type"] != "ipc"]
        config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev/shm"] + [
            {"destination": "/dev/shm", "type": "bind", "source": "/dev/shm", "options": ["rbind"]}]
    if limits:
        config["linux"]["resources"].update({
            "memory": {"limit": 64 * 1024 * 1024},
            "cpu": {"quota": 50000, "period": 100000},
            "pids": {"limit": 64},
        })
    os.makedirs(bundle, exist_ok=True)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


if __name__ == "__main__":
    main()
