import ContainRuntime
import Testing
@testable import contain

/// The pure parts of cp, container prune and the sizes they print.
@Suite struct ManagementCommandsTests {
    @Test func cpFindsTheContainerSide() throws {
        #expect(try CopyArguments.parse("web:/etc/hosts", ".")
            == CopyArguments(container: "web", containerPath: "/etc/hosts", hostPath: ".", toContainer: false))
        #expect(try CopyArguments.parse("./site", "web:/www/")
            == CopyArguments(container: "web", containerPath: "/www/", hostPath: "./site", toContainer: true))
        // A colon in a local path: absolute, or starting with `.`, it stays local.
        #expect(try CopyArguments.parse("/data/a:b", "web:/tmp")
            == CopyArguments(container: "web", containerPath: "/tmp", hostPath: "/data/a:b", toContainer: true))
        #expect(try CopyArguments.parse("web:/tmp/x", "./a:b")
            == CopyArguments(container: "web", containerPath: "/tmp/x", hostPath: "./a:b", toContainer: false))
        #expect(try CopyArguments.parse("web:/a:b", "out")
            == CopyArguments(container: "web", containerPath: "/a:b", hostPath: "out", toContainer: false),
                "only the first colon separates")
        #expect(try CopyArguments.parse("3f9c0a1b:tmp", "out").containerPath == "tmp")
    }

    @Test func cpRefusesWhatDockerRefuses() {
        func message(_ a: String, _ b: String) -> String? {
            do { _ = try CopyArguments.parse(a, b); return nil } catch { return "\(error)" }
        }
        #expect(message("a", "b") == "must specify at least one container source (CONTAINER:PATH)")
        #expect(message("./a:b", "/c") == "must specify at least one container source (CONTAINER:PATH)")
        #expect(message("web:/a", "db:/b") == "copying between containers is not supported")
        #expect(message("web:", ".")?.contains("no path after the `:`") == true)
        #expect(message(":/x", ".")?.contains("no container name") == true)
        #expect(message("web:/x", "-")?.contains("tar stream") == true)
        #expect(message("", "web:/x") != nil)
    }

    @Test func sizesAsDockerPrintsThem() {
        #expect(HumanSize.format(0) == "0B")
        #expect(HumanSize.format(212) == "212B")
        #expect(HumanSize.format(999) == "999B")
        #expect(HumanSize.format(1000) == "1kB")
        #expect(HumanSize.format(1234) == "1.234kB")
        #expect(HumanSize.format(10_270) == "10.27kB")
        #expect(HumanSize.format(12_345_678) == "12.35MB")
        #expect(HumanSize.format(999_999) == "1000kB")
        #expect(HumanSize.format(1_500_000_000) == "1.5GB")
    }

    @Test func pruneReportAndConfirmation() {
        #expect(ContainerPruneCommand.report(deleted: [], reclaimed: 0) == "Total reclaimed space: 0B\n")
        #expect(ContainerPruneCommand.report(deleted: ["aaa", "bbb"], reclaimed: 2048)
            == "Deleted Containers:\naaa\nbbb\n\nTotal reclaimed space: 2.048kB\n")
        #expect(ContainerPruneCommand.confirms("y") && ContainerPruneCommand.confirms("Yes ") && ContainerPruneCommand.confirms("Y"))
        #expect(!ContainerPruneCommand.confirms("") && !ContainerPruneCommand.confirms("n") && !ContainerPruneCommand.confirms(nil))
        #expect(!ContainerPruneCommand.confirms("yep"))
    }

    @Test func commandsParse() throws {
        #expect(try ContainCommand.parseAsRoot(["container", "prune", "-f"]) is ContainerPruneCommand)
        #expect(try ContainCommand.parseAsRoot(["container", "ls", "-a"]) is ContainerListCommand)
        #expect(try ContainCommand.parseAsRoot(["container", "rm", "x"]) is RmCommand)
        #expect(try ContainCommand.parseAsRoot(["cp", "-a", "-L", "web:/x", "."]) is CpCommand)
        #expect(try ContainCommand.parseAsRoot(["pause", "a", "b"]) is PauseCommand)
        #expect(try ContainCommand.parseAsRoot(["unpause", "a"]) is UnpauseCommand)
        #expect(try ContainCommand.parseAsRoot(["rename", "a", "b"]) is RenameCommand)
        #expect(throws: (any Error).self) { try ContainCommand.parseAsRoot(["rename", "a"]) }
    }
}
