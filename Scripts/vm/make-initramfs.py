#!/usr/bin/env python3
"""Builds the cgroup v2 test VM's initramfs: static busybox, the kernel modules the VM needs
(virtio PCI, 9p; the netfilter and bridge modules for the network tests) with their
dependencies in load order, and vm-init as /init. Writes a newc cpio archive (no cpio tool
needed).

    make-initramfs.py MODULES_DIR INIT_SCRIPT OUTPUT
"""
import os
import stat
import sys

WANTED = [
    "virtio_pci", "9pnet_virtio", "9p", "overlay",
    # Later issues (networking) run in the VM too; modprobe is not there to find these.
    "veth", "bridge", "crc32c_generic", "nf_tables", "nft_chain_nat", "nft_masq", "nft_nat", "nft_ct", "nf_nat",
    "nft_fib", "nft_fib_ipv4",   # published ports: `fib daddr type local`
    "nft_fib_inet", "nft_fib_ipv6",   # the same in contain's inet table (both families)
    "sch_netem", "sch_tbf",           # net impair: delay, loss ... (netem) and rates (tbf)
    # podman's CNI plugins (the engine tests): iptables-nft's matches and targets.
    "nft_compat", "xt_comment", "xt_mark", "xt_addrtype", "xt_conntrack", "xt_multiport", "xt_tcpudp",
    "xt_MASQUERADE", "xt_nat",
]


def module_index(root):
    index = {}
    for directory, _, files in os.walk(root):
        for name in files:
            if name.endswith(".ko"):
                index[name[:-3].replace("-", "_")] = os.path.join(directory, name)
    return index


def depends(path):
    data = open(path, "rb").read()
    marker = data.find(b"depends=")
    while marker > 0 and data[marker - 1] != 0:
        marker = data.find(b"depends=", marker + 1)
    if marker < 0:
        return []
    end = data.index(b"\0", marker)
    value = data[marker + len("depends="):end].decode()
    return [d.replace("-", "_") for d in value.split(",") if d]


def load_order(index, wanted):
    order, seen = [], set()

    def visit(name):
        if name in seen or name not in index:
            return  # built into the kernel, or not needed
        seen.add(name)
        for dep in depends(index[name]):
            visit(dep)
        order.append(name)

    for name in wanted:
        visit(name)
    return order


class Cpio:
    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def entry(self, name, mode, data=b""):
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out += header + name.encode() + b"\0"
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)
        self.ino += 1

    def directory(self, name):
        self.entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self.entry(name, stat.S_IFREG | mode, data)

    def finish(self):
        self.entry("TRAILER!!!", 0)
        return bytes(self.out)


def main():
    modules_dir, init_script, output = sys.argv[1:4]
    index = module_index(modules_dir)
    order = load_order(index, WANTED)
    missing = [m for m in ["virtio_pci", "9pnet_virtio", "9p"] if m not in index]
    if missing:
        sys.exit(f"make-initramfs: modules not found: {missing}")
    archive = Cpio()
    for d in ["bin", "dev", "proc", "sys", "host", "modules", "job"]:
        archive.directory(d)
    archive.file("bin/busybox", open("/bin/busybox", "rb").read(), 0o755)
    archive.file("init", open(init_script, "rb").read(), 0o755)
    for name in order:
        archive.file(f"modules/{name}.ko", open(index[name], "rb").read())
    archive.file("modules/order", ("\n".join(order) + "\n").encode())
    with open(output, "wb") as f:
        f.write(archive.finish())
    print(f"[vm] initramfs: {len(order)} modules: {' '.join(order)}", file=sys.stderr)


if __name__ == "__main__":
    main()
