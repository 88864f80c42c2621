import ArgumentParser
import ContainRuntime
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

// What several commands do with a container found by name or id.

/// Waits until the container has ended and its supervisor let go of it (cleaned up).
func waitUntilEnded(_ view: ContainerView, timeout: Double) -> Bool {
    let deadline = MonotonicClock.seconds + timeout
    while MonotonicClock.seconds < deadline {
        if ContainerRecord.find(directory: view.directory)?.isAlive != true { return true }
        usleep(20_000)
    }
    return false
}

/// Signals the container's PID 1, making sure the pid is still that process. A created
/// container's init waits for `start` with default dispositions, which PID 1 of a namespace
/// ignores: only SIGKILL ends it, as runc's kill of a created container does.
func signalContainer(_ view: ContainerView, _ signal: Int32) throws {
    guard view.isRunning || (view.state == .created && signal == SIGKILL), let pid = view.status.pid else {
        throw RunFailure.runtime("container \(view.displayName) is not running")
    }
    guard pid.isAlive else { throw RunFailure.runtime("container \(view.displayName) is not running") }
    try sys("kill", path: view.displayName) { kill(pid.pid, signal) }
}

/// Docker's way with several containers: each one is tried, each failure is one line, and the
/// exit status is the first failure's (1 for a container that does not exist).
func forEachContainer(_ references: [String], stateRoot: String, _ body: (String, ContainerView) throws -> Void) throws {
    var failure: Int32?
    for reference in references {
        do {
            try body(reference, try ContainerRecord.find(stateRoot: stateRoot, reference))
        } catch let error as RunFailure {
            Progress.error(error.description)
            failure = failure ?? error.exitCode
        } catch {
            Progress.error("\(error)")
            failure = failure ?? 125
        }
    }
    if let failure { throw ExitCode(failure) }
}
