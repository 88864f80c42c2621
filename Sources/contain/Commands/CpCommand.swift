import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain cp SRC DEST`: one side is `CONTAINER:PATH`.
struct CpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cp", abstract: "Copy files/folders between a container and the local filesystem.",
        discussion: """
            contain cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH
            contain cp [OPTIONS] SRC_PATH CONTAINER:DEST_PATH

            Copies a file, or a directory recursively, keeping modes and times (and with -a \
            owners); symlinks are copied as symlinks. Paths in the container are taken from its \
            root. DEST_PATH: an existing directory receives the copy; a missing one is created \
            (for a directory) or written (for a file), but only if its parent exists; a \
            trailing `/` means it must be a directory. SRC_PATH ending in `/.` copies a \
            directory's contents rather than the directory. A local path with a `:` is written \
            with a `/` in it (./a:b).

            A running or created container is read and written as it sees itself (through its \
            init's root: its copy-on-write layer, volumes and tmpfs); a container that has ended \
            through its root filesystem and copy-on-write layer. Paths inside the container are \
            resolved inside its root: a symlink there can never lead a copy out of it.

            Examples:
              contain cp web:/etc/hostname .
              contain cp ./site web:/www
              contain cp web:/var/log/. ./logs
            """)

    @OptionGroup var state: StateOptions
    @Flag(name: [.short, .customLong("archive")], help: "Archive mode (copy all uid/gid information).") var archive = false
    @Flag(name: [.customShort("L"), .customLong("follow-link")], help: "Always follow symbol link in SRC_PATH.") var followLink = false
    @Flag(name: [.short, .customLong("quiet")], help: "Suppress progress output during copy (only shown on a terminal).") var quiet = false
    @Argument(help: ArgumentHelp("The source: a local path, or CONTAINER:PATH.", valueName: "src")) var source: String
    @Argument(help: ArgumentHelp("The destination: a local path, or CONTAINER:PATH.", valueName: "dest")) var destination: String

    func run() throws {
        let request = try CopyArguments.parse(source, destination)
        try state.prepare()
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, request.container)
        let options = ContainerCopy.Options(followLink: followLink, archive: archive)
        let bytes = request.toContainer
            ? try ContainerCopy.copy(fromHost: request.hostPath, to: view, path: request.containerPath, options: options)
            : try ContainerCopy.copy(from: view, path: request.containerPath, toHost: request.hostPath, options: options)
        // docker says so on a terminal only.
        if !quiet && isatty(2) == 1 { Progress.emit("Successfully copied \(HumanSize.format(bytes)) to \(destination)\n") }
    }
}

/// Which side of `cp` is the container, by docker's rules (splitCpArg): an absolute path, a
/// word without `:`, or one whose part before the `:` starts with `.` is local; otherwise the
/// part before the first `:` names the container.
struct CopyArguments: Equatable {
    let container: String
    let containerPath: String
    let hostPath: String
    let toContainer: Bool

    static func split(_ argument: String) -> (container: String?, path: String) {
        if argument.hasPrefix("/") { return (nil, argument) }
        guard let colon = argument.firstIndex(of: ":") else { return (nil, argument) }
        let container = String(argument[..<colon])
        if container.hasPrefix(".") { return (nil, argument) }
        return (container, String(argument[argument.index(after: colon)...]))
    }

    static func parse(_ source: String, _ destination: String) throws -> CopyArguments {
        if source == "-" || destination == "-" {
            throw RunFailure.runtime("copying a tar stream (`-`) is not supported: give a file or directory")
        }
        if source.isEmpty || destination.isEmpty { throw RunFailure.runtime("an empty path cannot be copied from or to") }
        let from = split(source), to = split(destination)
        switch (from.container, to.container) {
        case (nil, nil):
            throw RunFailure.runtime("must specify at least one container source (CONTAINER:PATH)")
        case (.some, .some):
            throw RunFailure.runtime("copying between containers is not supported")
        case (.some(let container), nil):
            try check(container, from.path, source)
            return CopyArguments(container: container, containerPath: from.path, hostPath: to.path, toContainer: false)
        case (nil, .some(let container)):
            try check(container, to.path, destination)
            return CopyArguments(container: container, containerPath: to.path, hostPath: from.path, toContainer: true)
        }
    }

    private static func check(_ container: String, _ path: String, _ argument: String) throws {
        if container.isEmpty { throw RunFailure.runtime("`\(argument)`: no container name before the `:`") }
        if path.isEmpty { throw RunFailure.runtime("`\(argument)`: no path after the `:` (the container's root is \(container):/)") }
    }
}
