import Foundation
import Testing

/// `ps --format` and its PORTS column, and `stats` in its three output forms.
@Suite(.enabled(if: Harness.enabled)) struct ListingTests {
    @Test func psShowsPortsAndFormatsAsDockerDoes() throws {
        let lab = try NetworkLab()
        let started = try lab.contain(["run", "-d", "--net", "bridge", "--name", "published", "-p", "18080:80", "-p", "127.0.0.1:5353:53/udp",
                                       "--rootfs", Harness.rootfs, "--cgroup-parent", lab.sandbox.cgroupParent, "--", "sleep", "60"])
        #expect(started.status == 0, "\(started)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let table = try lab.contain(["ps"])
        #expect(table.stdout.contains("PORTS") && table.stdout.contains("0.0.0.0:18080->80/tcp, 127.0.0.1:5353->53/udp"), "\(table)")
        let template = try lab.contain(["ps", "--format", "{{.Names}} {{.State}} {{.Ports}}"])
        #expect(template.stdout == "published running 0.0.0.0:18080->80/tcp, 127.0.0.1:5353->53/udp\n", "\(template)")
        let aligned = try lab.contain(["ps", "--format", "table {{.ID}}\\t{{.Names}}"])
        #expect(aligned.stdout == "CONTAINER ID   NAMES\n\(id.prefix(12))   published\n", "\(aligned)")
        let json = try lab.contain(["ps", "--format", "json"])
        #expect(json.stdout.hasPrefix("{\"ID\":\"\(id.prefix(12))\",\"Names\":\"published\""), "\(json)")
        let unknown = try lab.contain(["ps", "--format", "{{.Nope}}"])
        #expect(unknown.status == 125, "\(unknown)")
        // stats: one reading, as a table, a template, and JSON lines.
        let stats = try lab.contain(["stats", "--no-stream"])
        #expect(stats.stdout.hasPrefix("CONTAINER ID") && stats.stdout.contains("NET RATE") && stats.stdout.contains("published"), "\(stats)")
        let statsTemplate = try lab.contain(["stats", "--no-stream", "--format", "{{.Name}}:{{.PIDs}}"])
        #expect(statsTemplate.stdout == "published:1\n", "\(statsTemplate)")
        let statsJSON = try lab.contain(["stats", "--no-stream", "--json"])
        #expect(statsJSON.stdout.hasPrefix("{\"Container\":\"published\"") && statsJSON.stdout.contains("\"NetRate\":"), "\(statsJSON)")
        // Ended: no pid, no address, no ports.
        _ = try lab.contain(["kill", id])
        #expect(eventually(timeout: 20) { (try? lab.contain(["ps", "-a", "--format", "{{.State}}"]).stdout) == "exited\n" })
        let ended = try lab.contain(["ps", "-a", "--format", "{{.Pid}}|{{.Address}}|{{.Ports}}"])
        #expect(ended.stdout == "||\n", "\(ended)")
        _ = try lab.contain(["rm", id])
        try lab.expectClean()
    }

    /// Without --name a container gets docker's kind of name, unique, usable wherever a name is.
    @Test func unnamedContainersGetAGeneratedName() throws {
        let box = try Sandbox()
        func contain(_ arguments: [String]) throws -> RunResult { try box.contain(box.commonArguments + arguments) }
        var ids: [String] = []
        for _ in 0..<3 {
            let r = try box.contain(["run", "-d", "--rootfs", Harness.rootfs, "--cgroup-parent", box.cgroupParent] + box.commonArguments
                                    + ["sleep", "60"])
            #expect(r.status == 0, "\(r)")
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let names = try contain(["ps", "--format", "{{.Names}}"]).stdout.split(separator: "\n").map(String.init)
        #expect(Set(names).count == 3, "\(names)")
        for name in names {
            #expect(name.range(of: "^[a-z]+_[a-z]+(_[1-9])?$", options: .regularExpression) != nil, "\(name)")
        }
        if let name = names.first {
            let exec = try contain(["exec", name, "--", "echo", "reached"])
            #expect(exec.stdout == "reached\n", "\(exec)")
        }
        #expect(try contain(["rm", "-f"] + ids).status == 0)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: box.stateRoot + "/names")) ?? []).filter { !$0.hasPrefix(".") } == [])
        box.expectClean()
    }
}
