import Foundation
import Testing

/// Every README block marked `<!-- readme-test -->` runs as written, line by line, as a user
/// would type it after Scripts/setup.sh: `contain` on PATH (the binary under test), in a
/// directory whose `.rootfs/busybox` is the test rootfs, inside a throwaway network namespace
/// that plays the host, with the sandbox's state root and cgroup parent (CONTAIN_ROOT,
/// CONTAIN_CGROUP_PARENT). A command line is one that starts with `contain ` (one space: a
/// table row starting with a network named contain is output) or contains
/// `&& contain`; the rest of a block is sample output. Each must exit 0, or N where its comment
/// says `exits N`; one whose comment says `needs netem` exits 0 where the kernel has netem (the
/// cgroup v2 VM) and 125 where it does not (this machine).
@Suite(.enabled(if: Harness.enabled)) struct ReadmeExampleTests {
    struct Example: CustomStringConvertible {
        let line: Int
        let command: String
        let status: Int32
        var description: String { "README.md:\(line): \(command)" }
    }

    static func blocks() throws -> [[Example]] {
        let lines = try String(contentsOfFile: Harness.packageRoot + "/README.md", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var blocks: [[Example]] = []
        var i = 0
        while i < lines.count {
            guard lines[i].trimmingCharacters(in: .whitespaces) == "<!-- readme-test -->" else { i += 1; continue }
            i += 1
            var block: [Example] = []
            while i < lines.count, lines[i].isEmpty || lines[i].hasPrefix("    ") {
                let text = String(lines[i].dropFirst(min(4, lines[i].count)))
                if (text.hasPrefix("contain ") && !text.hasPrefix("contain  ")) || text.contains("&& contain ") {
                    var command = text
                    var status: Int32 = 0
                    if let comment = command.range(of: "  # ") {
                        let note = command[comment.upperBound...]
                        if let exits = note.range(of: "exits "), let n = Int32(note[exits.upperBound...].prefix(while: \.isNumber)) {
                            status = n
                        }
                        // What netem does is refused, with nothing changed, on a kernel without it.
                        if note.contains("needs netem") {
                            status = FileManager.default.fileExists(atPath: "/sys/module/sch_netem") ? 0 : 125
                        }
                        command = String(command[..<comment.lowerBound])
                    }
                    block.append(Example(line: i + 1, command: command.trimmingCharacters(in: .whitespaces), status: status))
                }
                i += 1
            }
            blocks.append(block)
        }
        return blocks
    }

    @Test func theReadmeHasExamplesToRun() throws {
        let blocks = try Self.blocks()
        #expect(blocks.count >= 4 && blocks.allSatisfy { !$0.isEmpty }, "\(blocks)")
    }

    @Test(arguments: try blocks().indices)
    func everyExampleWorksAsWritten(block index: Int) throws {
        let examples = try Self.blocks()[index]
        let lab = try NetworkLab()
        let home = lab.sandbox.stateRoot + "/user"
        let fm = FileManager.default
        try fm.createDirectory(atPath: home + "/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: home + "/.rootfs", withIntermediateDirectories: true)
        let binary = Harness.binary.hasPrefix("/") ? Harness.binary : fm.currentDirectoryPath + "/" + Harness.binary
        try fm.createSymbolicLink(atPath: home + "/bin/contain", withDestinationPath: binary)
        try fm.createSymbolicLink(atPath: home + "/.rootfs/busybox", withDestinationPath: Harness.rootfs)
        // The lab examples, copied (a symlinked directory would send their ../.rootfs elsewhere).
        try fm.copyItem(atPath: Harness.packageRoot + "/examples", toPath: home + "/examples")
        let environment = ["PATH": home + "/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CONTAIN_ROOT": lab.sandbox.stateRoot,
                           "CONTAIN_CGROUP_PARENT": lab.sandbox.cgroupParent]
        func shell(_ command: String, timeout: Double = 90) throws -> RunResult {
            try Running(arguments: ["--net=/run/netns/" + lab.host, "/bin/sh", "-c", "cd '\(home)' && " + command],
                        stdin: nil, executable: NetworkLab.nsenter, environment: environment).wait(timeout: timeout)
        }
        for example in examples {
            let r = try shell(example.command)
            #expect(r.status == example.status, "\(example)\n\(r)")
        }
        // Whatever the block left running or kept goes, as a user would remove it.
        _ = try shell("contain rm -f $(contain ps -aq) >/dev/null 2>&1; true")
        try lab.expectClean()
    }
}
