import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain rootfs ls|prune`: the trees `--rootfs FILE.tar[.gz]` unpacked into the cache.
struct RootfsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rootfs",
        abstract: "Manage the unpacked rootfs tarballs (--rootfs FILE.tar[.gz]).",
        discussion: """
            A tarball given to --rootfs is unpacked once into /var/lib/contain/rootfs (ROOT/rootfs \
            with --root), under the SHA-256 of its bytes, and shared by every container started \
            from the same bytes. An unchanged tarball (same size, mtime, ctime, inode) is not \
            hashed again.

            Examples:
              contain rootfs ls
              contain rootfs prune -f          # trees whose tarball is gone or changed
              contain rootfs prune -f --all    # every tree no container uses
            """,
        subcommands: [List.self, Prune.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the unpacked trees.", aliases: ["list"])
        @OptionGroup var state: StateOptions
        @Flag(help: "JSON, one object per tree.") var json = false

        func run() throws {
            try state.requireRoot()
            let trees = RootfsCache(directory: StateOptions.resolve(root: state.root).imageCache).list(stateRoot: state.stateRoot)
            if json {
                print(JSON.array(trees.map { tree in
                    .object([
                        ("Digest", .string("sha256:" + tree.digest)), ("Path", .string(tree.path)), ("Size", .number(tree.size)),
                        ("LastUsed", .number(tree.lastUsed)),
                        ("Sources", .array(tree.sources.map { .object([("Path", .string($0.path)), ("Current", .bool($0.current))]) })),
                        ("Containers", .array(tree.users.map(JSON.string))),
                    ])
                }).text)
                return
            }
            let now = Int64(time(nil))
            var rows = [["DIGEST", "SIZE", "LAST USED", "CONTAINERS", "SOURCE"]]
            for tree in trees {
                rows.append([tree.shortDigest, HumanSize.format(tree.size), PsCommand.ago(Int(now - tree.lastUsed)),
                             String(tree.users.count), Self.sources(tree)])
            }
            print(Table.render(rows), terminator: "")
        }

        /// The tarballs it came from; one that no longer holds these bytes is marked.
        static func sources(_ tree: RootfsCache.Tree) -> String {
            if tree.sources.isEmpty { return "-" }
            return tree.sources.map { $0.current ? $0.path : $0.path + " (changed or gone)" }.joined(separator: ", ")
        }
    }

    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune", abstract: "Remove unpacked trees no container uses.",
            discussion: """
                Without --all, removes the trees no container uses (running, created, or kept \
                after -d) whose tarball is gone or has changed since; with --all, every tree no \
                container uses (the next start from its tarball unpacks it again). Asks first \
                when stdin is a terminal; -f does not ask, and is needed when stdin is not a \
                terminal.
                """)
        @OptionGroup var state: StateOptions
        @Flag(name: [.short, .customLong("force")], help: "Do not prompt for confirmation.") var force = false
        @Flag(name: [.short, .customLong("all")], help: "Also the trees whose tarball is still there.") var all = false

        /// docker's `image prune` prompts.
        static func prompt(all: Bool) -> String {
            (all ? "WARNING! This will remove all unpacked rootfs trees without at least one container associated to them."
                 : "WARNING! This will remove all dangling unpacked rootfs trees (their tarball is gone or has changed).")
                + "\nAre you sure you want to continue? [y/N] "
        }

        func run() throws {
            try state.requireRoot()
            guard try force || ContainerPruneCommand.confirmed(Self.prompt(all: all), command: "contain rootfs prune") else { return }
            // Containers whose runtime died are reclaimed first: they use nothing any more.
            try state.prepare()
            let cache = RootfsCache(directory: StateOptions.resolve(root: state.root).imageCache)
            let report = cache.prune(all: all, stateRoot: state.stateRoot)
            for failure in report.failures { Progress.error(failure) }
            print(Self.report(report), terminator: "")
            if !report.failures.isEmpty { throw ExitCode(125) }
        }

        /// As docker prints an image prune: what went under `Deleted Rootfs Trees:` and a blank
        /// line (when any), then the total.
        static func report(_ report: RootfsCache.PruneReport) -> String {
            var text = ""
            if !report.removed.isEmpty {
                text += "Deleted Rootfs Trees:\n"
                text += report.removed.map { "deleted: sha256:\($0.digest)  \(HumanSize.format($0.size))  \(List.sources($0))\n" }.joined()
                text += "\n"
            }
            return text + "Total reclaimed space: " + HumanSize.format(report.reclaimed) + "\n"
        }
    }
}
