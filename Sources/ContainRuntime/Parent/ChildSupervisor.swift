import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The parent's side of a started child (a container's init, or an exec helper): relays its
/// progress and setup errors until it execs, then forwards signals until it ends.
struct ChildSupervisor {
    let progress: Progress
    let timings: StartTimings

    /// How far `awaitInit` follows the child.
    enum Milestone { case ready, exec }

    /// Relays the child's progress until it reaches `milestone`: `ready` (the init is set up
    /// and waits for `start`) or `exec` (its end of the socket closed on exec). Throws how setup
    /// failed otherwise (the child is then reaped by the caller).
    func awaitInit(_ child: ChildProcess, channel: SyncChannel, signals: SignalFD, until milestone: Milestone,
                   relay: StreamRelay? = nil) throws {
        var failure: RunFailure?
        while true {
            let ready = try poll([channel.fd, signals.fd])
            if ready.contains(signals.fd) {
                while let received = try signals.next() {
                    if received.signal == SIGCHLD { child.reapIfExited() }
                    else if ContainerRunner.abortingSignals.contains(received.signal) {
                        failure = failure ?? .interrupted(signal: received.signal)
                        child.kill(SIGKILL)
                    }
                }
            }
            guard ready.contains(channel.fd) else { continue }
            switch try channel.receive() {
            case nil:
                if let failure { throw failure }
                if milestone == .ready { throw RunFailure.runtime("the container's init ended before it was ready") }
                return
            case .ready?:
                if let failure { throw failure }
                guard milestone == .ready else {
                    child.kill(SIGKILL)
                    throw RunFailure.runtime("sync: expected progress, failed or exec-failed from the init, got ready")
                }
                return
            case .terminal?:
                let master = channel.takeReceivedFD()
                guard let relay, master >= 0 else {
                    if master >= 0 { close(master) }
                    failure = failure ?? .runtime("sync: a terminal nobody asked for")
                    child.kill(SIGKILL)
                    continue
                }
                do {
                    try relay.attach(master: master)
                } catch {
                    failure = failure ?? .runtime("\(error)")
                    child.kill(SIGKILL)
                }
            case .progress(let line)?:
                progress.say(line)
                // Each line announces the phase that begins: time the one that ended.
                if line.hasPrefix("pivoting root") { timings.mark("init") }
                else if line.hasPrefix("mounting /proc") { timings.mark("pivot") }
                else if line.hasPrefix("running:") { timings.mark("mounts") }
            case .failed(let operation, let path, let errno)?:
                // errno 0: a failure that was no system call's; its message says it all.
                let message = errno == 0 ? operation + (path.map { " `\($0)`" } ?? "") : "\(SystemError(operation, path: path, errno: errno))"
                failure = failure ?? .runtime(message)
            case .execFailed(let command, let errno)?:
                failure = failure ?? (errno == ENOENT ? .commandNotFound(command) : .cannotExecute(command, errno: errno))
            case let other?:
                failure = failure ?? .runtime("sync: expected progress, ready, failed or exec-failed from the init, got \(other.name)")
                child.kill(SIGKILL)
            }
        }
    }

    /// Forwards signals (a window change: to the container's terminal) and relays the
    /// container's streams until its init ends; returns how it ended. The container has a
    /// session of its own, so what the caller's terminal sends reaches only `contain`, and is
    /// passed on from here.
    func supervise(_ child: ChildProcess, signals: SignalFD, relay: StreamRelay? = nil) throws -> WaitStatus {
        while child.status == nil {
            let ready = try poll([signals.fd] + (relay?.pollFDs ?? []), writable: relay?.writeFDs ?? [])
            relay?.pump(ready)
            guard ready.contains(signals.fd) else { continue }
            while let received = try signals.next() {
                if received.signal == SIGCHLD {
                    child.reapIfExited()
                } else if received.signal == SIGWINCH, let relay, relay.handlesWindowChanges {
                    relay.resize()
                } else {
                    child.kill(received.signal)
                }
            }
        }
        relay?.drain()
        relay?.restore(exitCode: child.status!.shellCode)
        return child.status!
    }

    /// Waits until one of `fds` is readable or one of `writable` writable (or hung up); returns
    /// those that are.
    func poll(_ fds: [Int32], writable: [Int32] = []) throws -> Set<Int32> {
        var entries = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        for fd in writable {
            if let index = entries.firstIndex(where: { $0.fd == fd }) { entries[index].events |= Int16(POLLOUT) }
            else { entries.append(pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)) }
        }
        try sys("poll") { Glibc.poll(&entries, nfds_t(entries.count), -1) }
        return Set(entries.filter { $0.revents != 0 }.map(\.fd))
    }
}
