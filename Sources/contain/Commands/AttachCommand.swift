import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `contain attach [--detach-keys KEYS] [--no-stdin] [--sig-proxy=false] NAME`: the caller's
/// terminal (or stdin, stdout and stderr) connected to a detached container's, through its
/// supervisor's attach socket (AttachClient). Exits with the container's status when it ends.
struct AttachCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attach", abstract: "Attach local standard input, output, and error streams to a running container.",
        discussion: """
            With -t the caller's terminal becomes the container's (raw mode, window size); \
            Ctrl-P Ctrl-Q (or --detach-keys) detaches and leaves it running, printing `read \
            escape sequence` and exiting 1, as docker attach does. Input reaches the container \
            only if it was started with -i. When the container ends, attach exits with its status.
            Example: contain run -dit --name box --rootfs .rootfs/busybox -- sh; contain attach box
            """)

    @OptionGroup var state: StateOptions
    @Option(name: .customLong("detach-keys"),
            help: ArgumentHelp("Keys that detach (with a tty): ctrl-X or single characters, comma-separated; \"\" for none.",
                               valueName: "keys"))
    var detachKeys: String?
    @Flag(name: .customLong("no-stdin"), help: "Do not attach stdin.") var noStdin = false
    @Option(name: .customLong("sig-proxy"), help: ArgumentHelp("Without a tty, pass signals on to the container.", valueName: "bool"))
    var sigProxy = true
    @Argument(help: "Container name or id.") var container: String

    func run() throws {
        try state.prepare()
        let keys: DetachKeys
        do {
            keys = try detachKeys.map(DetachKeys.init(parsing:)) ?? .default
        } catch let error as DetachKeysError {
            throw RunFailure.runtime(error.description)
        }
        let view = try ContainerRecord.find(stateRoot: state.stateRoot, container)
        try checkAttachable(view)
        let client: AttachClient
        do {
            client = try AttachClient(directory: view.directory, displayName: view.displayName)
        } catch let refusal as AttachClient.Refusal {
            // It may have ended meanwhile, its socket gone with its supervisor.
            if let now = ContainerRecord.find(directory: view.directory) { try checkAttachable(now) }
            throw refuse(refusal.description)
        }
        let attachStdin = !noStdin && client.hello.stdinOpen
        if client.hello.tty && attachStdin && isatty(0) != 1 { throw refuse("the input device is not a TTY") }

        let outcome = try client.run(attachStdin: attachStdin, detachKeys: keys, proxySignals: sigProxy) { signal in
            try? signalContainer(view, signal)
        }
        switch outcome {
        case .detached:
            Progress.emit("read escape sequence\n")
            throw ExitCode(1)
        case .interrupted(let signal):
            throw ExitCode(128 + signal)
        case .exited(let code):
            // As docker's attach returns after its wait: the container is no longer running.
            _ = waitUntilEnded(view, timeout: 10)
            throw ExitCode(code)
        case .disconnected:
            if waitUntilEnded(view, timeout: 2), case .exited(let code)? = ContainerRecord.find(directory: view.directory)?.state {
                throw ExitCode(code)
            }
            throw refuse("container \(view.displayName)'s supervisor closed the connection while the container runs "
                         + "(this attach did not keep up with its output, or the supervisor was killed)")
        }
    }

    /// Docker's refusals: only a running, unpaused container can be attached.
    private func checkAttachable(_ view: ContainerView) throws {
        if !view.isRunning { throw refuse("cannot attach to a stopped container, start it first") }
        if view.paused { throw refuse("cannot attach to a paused container, unpause it first") }
    }

    /// One error line and docker attach's exit status for it, 1.
    private func refuse(_ message: String) -> ExitCode {
        Progress.error(message)
        return ExitCode(1)
    }
}
