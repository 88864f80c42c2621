import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// The cgroup freezer of one container: `contain pause` and `unpause`.
///
/// |        | cgroup v2 (the container's directory)           | cgroup v1 (its directory in the `freezer` hierarchy) |
/// |--------|--------------------------------------------------|-------------------------------------------------------|
/// | freeze | `1` to `cgroup.freeze`                           | `FROZEN` to `freezer.state`, written again while it reads `FREEZING` |
/// | done   | `cgroup.events` says `frozen 1`                  | `freezer.state` reads `FROZEN`                        |
/// | thaw   | `0` to `cgroup.freeze`, until `frozen 0`         | `THAWED` to `freezer.state`, until it reads `THAWED`  |
///
/// Every wait is bounded: a freeze that does not complete in time is undone (thawed) and
/// reported, as runc does. A v1 cgroup can stay `FREEZING` while new processes keep arriving,
/// so runc writes `FROZEN` again on every poll and thaws briefly now and then; so does this.
public struct Freezer: Equatable, Sendable {
    public enum Version: Equatable, Sendable { case v1, v2 }

    public let directory: String
    public let version: Version

    public init(directory: String, version: Version) {
        self.directory = directory
        self.version = version
    }

    /// The freezer among a container's cgroup directories (its record's `cgroups`): the one
    /// with `cgroup.freeze` (v2) or `freezer.state` (v1). Nil when none has it: a v1 container
    /// created before contain joined the freezer hierarchy.
    public static func find(in directories: [String]) -> Freezer? {
        for dir in directories where !dir.isEmpty {
            if Files.exists(dir + "/cgroup.freeze") { return Freezer(directory: dir, version: .v2) }
            if Files.exists(dir + "/freezer.state") { return Freezer(directory: dir, version: .v1) }
        }
        return nil
    }

    /// Whether every process of the cgroup is frozen now.
    public var isFrozen: Bool {
        switch version {
        case .v2: return (try? Self.eventsFrozen(Files.read(eventsFile))) == true
        case .v1: return (try? Files.read(stateFile))?.trimmingWhitespace == "FROZEN"
        }
    }

    /// Freezes every process of the cgroup and returns once they all are; after `timeout`
    /// seconds thaws them again and throws.
    public func freeze(timeout: Double = 10) throws {
        let deadline = Self.now() + timeout
        switch version {
        case .v2:
            try Files.write(freezeFile, "1")
            if try waitForV2(frozen: true, until: deadline) { return }
            try? Files.write(freezeFile, "0")
        case .v1:
            var attempt = 0
            while Self.now() < deadline {
                // runc's remedy for a cgroup stuck in FREEZING while processes keep arriving:
                // an occasional thaw and a short pause before writing FROZEN again.
                if attempt % 50 == 49 {
                    try? Files.write(stateFile, "THAWED")
                    usleep(10_000)
                }
                try Files.write(stateFile, "FROZEN")
                if attempt % 25 == 24 { usleep(1_000) }
                switch try Files.read(stateFile).trimmingWhitespace {
                case "FROZEN": return
                case "FREEZING": break
                case let other: throw FreezerError.unexpectedState(directory, other)
                }
                attempt += 1
                if attempt > 100 { usleep(1_000) }  // past runc's quick retries: poll, not spin
            }
            try? Files.write(stateFile, "THAWED")
        }
        throw FreezerError.timedOut(directory, frozen: true, seconds: timeout)
    }

    /// Thaws every process of the cgroup and returns once none is frozen.
    public func thaw(timeout: Double = 10) throws {
        let deadline = Self.now() + timeout
        switch version {
        case .v2:
            try Files.write(freezeFile, "0")
            if try waitForV2(frozen: false, until: deadline) { return }
        case .v1:
            while Self.now() < deadline {
                try Files.write(stateFile, "THAWED")
                if try Files.read(stateFile).trimmingWhitespace == "THAWED" { return }
                usleep(1_000)
            }
        }
        throw FreezerError.timedOut(directory, frozen: false, seconds: timeout)
    }

    /// `frozen 1` (or 0) in a v2 `cgroup.events`: nil when the line is missing.
    public static func eventsFrozen(_ events: String) -> Bool? {
        for line in events.split(separator: "\n") where line.hasPrefix("frozen ") {
            return line.dropFirst("frozen ".count) == "1"
        }
        return nil
    }

    private var freezeFile: String { directory + "/cgroup.freeze" }
    private var eventsFile: String { directory + "/cgroup.events" }
    private var stateFile: String { directory + "/freezer.state" }

    /// Polls `cgroup.events`, from every millisecond up to every 20 ms, until `frozen` says so.
    private func waitForV2(frozen: Bool, until deadline: Double) throws -> Bool {
        var pause: UInt32 = 1_000
        while true {
            if try Self.eventsFrozen(Files.read(eventsFile)) == frozen { return true }
            if Self.now() >= deadline { return false }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

public enum FreezerError: Error, Equatable, CustomStringConvertible {
    case timedOut(String, frozen: Bool, seconds: Double)
    case unexpectedState(String, String)

    public var description: String {
        switch self {
        case .timedOut(let dir, let frozen, let seconds):
            return frozen ? "freeze `\(dir)`: not every process was frozen after \(Int(seconds)) s (thawed again)"
                          : "thaw `\(dir)`: processes still frozen after \(Int(seconds)) s"
        case .unexpectedState(let dir, let state):
            return "freeze `\(dir)/freezer.state`: unexpected state `\(state)`"
        }
    }
}

private extension String {
    var trimmingWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
