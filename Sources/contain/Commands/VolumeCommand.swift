import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain volume create|ls|inspect|rm|prune`: named volumes, as docker's `local` driver keeps them.
struct VolumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "volume",
        abstract: "Manage named volumes (-v NAME:/path, --mount type=volume,...).",
        discussion: """
            A volume is a directory under /var/lib/contain/volumes (ROOT/volumes with --root) that
            outlives its containers; `run -v NAME:/path` makes it on first use.

            Examples:
              contain volume create data
              contain run --rootfs .rootfs/busybox -v data:/data -- sh -c 'echo hi > /data/f'
              contain volume ls
              contain volume rm data
            """,
        subcommands: [Create.self, List.self, Inspect.self, Remove.self, Prune.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Create a volume (a random name without NAME).")
        @OptionGroup var state: StateOptions
        @Argument(help: "The volume's name.") var name: String?

        func run() throws {
            try state.requireRoot()
            let volume = try state.volumes.create(name ?? Identifiers.randomHex())
            print(volume.name)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List volumes.", aliases: ["list"])
        @OptionGroup var state: StateOptions
        @Flag(name: .shortAndLong, help: "Only the names.") var quiet = false

        func run() throws {
            try state.requireRoot()
            let volumes = state.volumes.list()
            if quiet {
                for volume in volumes { print(volume.name) }
                return
            }
            print(Table.render([["DRIVER", "VOLUME NAME"]] + volumes.map { ["local", $0.name] }), terminator: "")
        }
    }

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show volumes as JSON.")
        @OptionGroup var state: StateOptions
        @Argument(help: "Volume names.") var names: [String]

        func run() throws {
            try state.requireRoot()
            var entries: [JSON] = []
            var missing = false
            for name in names {
                guard let volume = state.volumes.find(name) else {
                    Progress.error("no such volume: \(name)")
                    missing = true
                    continue
                }
                let users = state.volumes.users(of: name, stateRoot: state.stateRoot)
                entries.append(JSON.object([
                    ("Name", .string(volume.name)), ("Driver", .string("local")), ("Mountpoint", .string(volume.mountpoint)),
                    ("CreatedAt", .number(Int64(volume.created))), ("Scope", .string("local")),
                    ("UsedBy", .array(users.map { .string($0) })),
                ]))
            }
            print(JSON.array(entries).text)
            if missing { throw ExitCode(1) }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove volumes no container uses.", aliases: ["remove"])
        @OptionGroup var state: StateOptions
        @Argument(help: "Volume names.") var names: [String]

        func run() throws {
            try state.prepare()
            var failed = false
            for name in names {
                do {
                    try state.volumes.remove(name, stateRoot: state.stateRoot)
                    print(name)
                } catch {
                    Progress.error("\(error)")
                    failed = true
                }
            }
            if failed { throw ExitCode(1) }
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prune", abstract: "Remove every volume no container uses.")
        @OptionGroup var state: StateOptions
        @Flag(name: .shortAndLong, help: "Do not ask for confirmation.") var force = false

        func run() throws {
            try state.prepare()
            guard try force || ContainerPruneCommand.confirmed(
                "WARNING! This will remove all volumes not used by at least one container.\nAre you sure you want to continue? [y/N] ",
                command: "contain volume prune") else { return }
            var total: UInt64 = 0
            var removed: [String] = []
            for volume in state.volumes.list() where state.volumes.users(of: volume.name, stateRoot: state.stateRoot).isEmpty {
                let size = state.volumes.size(volume.name)
                if (try? state.volumes.remove(volume.name, stateRoot: state.stateRoot)) != nil {
                    removed.append(volume.name)
                    total += size
                }
            }
            if !removed.isEmpty { print("Deleted Volumes:\n" + removed.joined(separator: "\n") + "\n") }
            print("Total reclaimed space: \(ByteSize(bytes: total))")
        }
    }
}
