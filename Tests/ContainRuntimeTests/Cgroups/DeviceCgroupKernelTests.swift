import ContainSystem
import Foundation
import Testing
@testable import ContainRuntime

/// Docker's device rules enforced by the real kernel, on whichever layout the machine has: the
/// `devices` controller on cgroup v1, the eBPF program on v2 (`Scripts/cgroup2-vm.sh`). Needs
/// root and writes under `contain-test/` of each hierarchy, so it runs only when asked:
///
///     CONTAIN_TEST_DEVICE_CGROUP=1 .build/debug/containPackageTests.xctest \
///         --testing-library swift-testing --filter DeviceCgroupKernelTests
///
/// A shell joins the cgroup, then opens (never reads) allowed devices, /dev/kmsg (1:11, not on
/// the list), and nodes it makes itself. No block device is ever opened.
@Suite struct DeviceCgroupKernelTests {
    static let enabled = ProcessInfo.processInfo.environment["CONTAIN_TEST_DEVICE_CGROUP"] == "1" && geteuid() == 0

    @Test(.enabled(if: enabled, "set CONTAIN_TEST_DEVICE_CGROUP=1 and run as root"))
    func theKernelRefusesDevicesOffTheList() throws {
        let parent = "contain-test/devices-\(UInt32.random(in: 0...UInt32.max))"
        let plan = try CgroupPlan(layout: try CgroupLayout.detect(), parent: parent, id: "c1", limits: ResourceLimits())
        let cgroup = ContainerCgroup(plan: plan)
        try cgroup.create()
        defer {
            try? cgroup.destroy()
            for dir in plan.parentDirectories.reversed() where dir.hasSuffix("/" + parent) { rmdir(dir) }
        }
        try withTemporaryDirectory { scratch in
            let join = plan.containerDirectories.map { "echo $$ > '\($0)/cgroup.procs' || exit 90" }.joined(separator: "; ")
            let script = """
                \(join)
                opens() { if (: < "$1") 2>/dev/null; then echo "open $1 allowed"; else echo "open $1 refused"; fi; }
                makes() { if mknod "$@" 2>/dev/null; then echo "mknod $* allowed"; else echo "mknod $* refused"; fi; }
                opens /dev/null
                opens /dev/zero
                opens /dev/urandom
                opens /dev/kmsg
                makes \(scratch)/kmsg c 1 11
                opens \(scratch)/kmsg
                makes \(scratch)/loop b 7 0
                (: < /dev/kmsg) 2>&1 | sed 's/.*: //'
                """
            let shell = Process()
            shell.executableURL = URL(fileURLWithPath: "/bin/sh")
            shell.arguments = ["-c", script]
            let output = Pipe()
            shell.standardOutput = output
            try shell.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            shell.waitUntilExit()
            #expect(shell.terminationStatus == 0)
            #expect(text.split(separator: "\n").map { $0.replacingOccurrences(of: scratch, with: "TMP") } == [
                "open /dev/null allowed",
                "open /dev/zero allowed",
                "open /dev/urandom allowed",
                "open /dev/kmsg refused",
                "mknod TMP/kmsg c 1 11 allowed",
                "open TMP/kmsg refused",
                "mknod TMP/loop b 7 0 allowed",
                "Operation not permitted",
            ])
        }
    }
}
