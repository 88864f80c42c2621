import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// What `contain logs` asks for.
public struct LogQuery: Equatable, Sendable {
    /// Keep printing new records until the container has ended.
    public var follow = false
    /// Only the last `tail` records (of those within since and until); nil: all of them.
    public var tail: Int?
    public var since: LogTimestamp?
    public var until: LogTimestamp?
    /// Each record's time before its bytes, as `docker logs -t` prints it.
    public var timestamps = false

    public init(follow: Bool = false, tail: Int? = nil, since: LogTimestamp? = nil, until: LogTimestamp? = nil,
                timestamps: Bool = false) {
        self.follow = follow
        self.tail = tail
        self.since = since
        self.until = until
        self.timestamps = timestamps
    }

    /// From the options as typed: `--tail N|all`, `--since` and `--until` as
    /// `LogTimestamp(parsing:now:)` reads them.
    public init(follow: Bool, tail: String, since: String?, until: String?, timestamps: Bool,
                now: LogTimestamp = .now()) throws(SpecError) {
        self.init(follow: follow, tail: try Self.parseTail(tail), timestamps: timestamps)
        if let since { self.since = try LogTimestamp(parsing: since, now: now) }
        if let until { self.until = try LogTimestamp(parsing: until, now: now) }
    }

    /// `all` (or, as docker takes it, a negative number): nil; otherwise a count.
    public static func parseTail(_ text: String) throws(SpecError) -> Int? {
        if text == "all" { return nil }
        guard let count = Int(text) else { throw SpecError("invalid --tail `\(text)`: expected a number of lines or `all`") }
        return count < 0 ? nil : count
    }

    /// Whether a record of that time is within since and until.
    func admits(_ time: LogTimestamp) -> Bool {
        if let since, time < since { return false }
        if let until, time > until { return false }
        return true
    }
}

/// A detached or created container's output, as its supervisor logged it (ContainerLogWriter;
/// LogRecord describes the format): the record's `output.log` and its rotated predecessors
/// `output.log.1` (the newest) to `output.log.N` (the oldest).
public enum ContainerLogs {
    public static let fileName = "output.log"

    public static func path(directory: String) -> String { directory + "/" + fileName }

    /// The record's log files, oldest first.
    public static func files(directory: String) -> [String] {
        let current = path(directory: directory)
        var rotated: [String] = []
        while Files.exists(current + ".\(rotated.count + 1)") { rotated.append(current + ".\(rotated.count + 1)") }
        return rotated.reversed() + (Files.exists(current) ? [current] : [])
    }

    /// Every record in the record `directory`'s log, oldest first (a line that is not a record
    /// is skipped).
    public static func records(directory: String) -> [LogRecord] {
        var records: [LogRecord] = []
        for reader in files(directory: directory).compactMap(LogFileReader.init(path:)) {
            repeat {
                records += reader.readLines().compactMap { LogRecord(line: $0) }
            } while !reader.reachedEnd
            reader.close()
        }
        return records
    }

    /// `start -a`: the whole output, then, with `follow`, what comes until the container ends.
    public static func copy(_ view: ContainerView, follow: Bool) throws {
        try show(view, LogQuery(follow: follow))
    }

    /// Prints what `query` selects, oldest first: the records within since and until, the last
    /// `tail` of them; stdout records on `stdout`, stderr records on `stderr`. With `follow`,
    /// then what comes, across rotations, until the container has ended (or `until` has passed).
    public static func show(_ view: ContainerView, _ query: LogQuery, stdout: Int32 = 1, stderr: Int32 = 2) throws {
        let current = path(directory: view.directory)
        // Every file opened first: a rotation while they are read renames them, which an open
        // file does not notice.
        let readers = files(directory: view.directory).compactMap(LogFileReader.init(path:))
        guard !readers.isEmpty else {
            throw RunFailure.runtime("container \(view.displayName) has no logs: only detached containers (run -d, create) keep their output")
        }
        var printer = LogPrinter(stdout: stdout, stderr: stderr, timestamps: query.timestamps)
        defer { printer.flush() }

        /// Prints what the query admits up to the file's current end; false at the first
        /// record later than `until` (the log is in time order: nothing after it is wanted).
        func printRest(of reader: LogFileReader) -> Bool {
            repeat {
                for line in reader.readLines() {
                    guard let record = LogRecord(line: line) else { continue }
                    if let until = query.until, record.time > until { return false }
                    if query.admits(record.time) { printer.print(record) }
                }
            } while !reader.reachedEnd
            return true
        }

        /// The last `count` records the query admits, up to the file's current end.
        func lastRecords(of reader: LogFileReader, count: Int) -> [LogRecord] {
            var kept: [LogRecord] = []
            repeat {
                for line in reader.readLines() where count > 0 {
                    guard let record = LogRecord(line: line), query.admits(record.time) else { continue }
                    kept.append(record)
                    if kept.count >= 2 * count + 1024 { kept.removeFirst(kept.count - count) }
                }
            } while !reader.reachedEnd
            return Array(kept.suffix(count))
        }

        var pastUntil = false
        if let tail = query.tail {
            // Newest file first (always read to its end, where following begins), older ones
            // only while more records are wanted.
            var newestFirst: [[LogRecord]] = []
            var found = 0
            for reader in readers.reversed() where newestFirst.isEmpty || found < tail {
                let records = lastRecords(of: reader, count: tail - found)
                newestFirst.append(records)
                found += records.count
            }
            for records in newestFirst.reversed() { for record in records { printer.print(record) } }
        } else {
            for reader in readers where !pastUntil { pastUntil = !printRest(of: reader) }
        }
        var follower = readers.last.flatMap { $0.path == current ? $0 : nil }
        for reader in readers where reader !== follower { reader.close() }
        defer { follower?.close() }
        guard query.follow, !pastUntil else { return }

        var ended = false
        while true {
            if let reader = follower {
                guard printRest(of: reader) else { return }
                printer.flush()
            }
            let now = LogFileReader.identity(of: current)
            if follower?.identity != now {
                if let reader = follower {
                    // Rotated: the file being read is complete now; then any newer rotated
                    // file, then the new one.
                    defer { reader.close() }
                    guard printRest(of: reader) else { return }
                    for path in newerRotatedFiles(than: reader, directory: view.directory) {
                        guard let missed = LogFileReader(path: path) else { continue }
                        defer { missed.close() }
                        guard printRest(of: missed) else { return }
                    }
                    printer.flush()
                }
                follower = now == nil ? nil : LogFileReader(path: current)
                continue
            }
            if ended { return }
            // Its supervisor records the exit only after the last output is in the log.
            if ContainerRecord.find(directory: view.directory)?.isAlive != true { ended = true; continue }
            if let until = query.until, LogTimestamp.now() > until { return }
            usleep(50_000)
        }
    }

    /// The rotated files written after `reader`'s file (which has become one of them), oldest first.
    private static func newerRotatedFiles(than reader: LogFileReader, directory: String) -> [String] {
        let current = path(directory: directory)
        let rotated = files(directory: directory).filter { $0 != current }
        guard let index = rotated.firstIndex(where: { LogFileReader.identity(of: $0) == reader.identity }) else { return [] }
        return Array(rotated[(index + 1)...])
    }
}

/// One log file, read as it grows: complete lines only, a partly written one kept for later.
final class LogFileReader {
    struct Identity: Equatable { let device: UInt64, inode: UInt64 }

    let path: String
    let identity: Identity
    private var fd: Int32
    private var partial: [UInt8] = []

    init?(path: String) {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0 else { Glibc.close(fd); return nil }
        self.path = path
        identity = Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    deinit { close() }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Whether the last read found the end of what has been written so far.
    private(set) var reachedEnd = false

    /// Complete lines (without their newline) of what has been written since the last call,
    /// about `limit` bytes at most: call again until `reachedEnd`.
    func readLines(limit: Int = 4 << 20) -> [ArraySlice<UInt8>] {
        guard fd >= 0 else { reachedEnd = true; return [] }
        var data = partial
        partial = []
        reachedEnd = false
        var chunk = [UInt8](repeating: 0, count: 65536)
        repeat {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { reachedEnd = true; break }
            data.append(contentsOf: chunk[0..<n])
        } while data.count < limit
        guard let lastNewline = data.lastIndex(of: 0x0a) else {
            // No record is this long (a line is cut at 16 KiB): what is not a line is dropped.
            partial = data.count > 1 << 20 ? [] : data
            return []
        }
        partial = Array(data[(lastNewline + 1)...])
        return data[..<lastNewline].split(separator: 0x0a, omittingEmptySubsequences: true)
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }
}

/// Records onto stdout and stderr, each run of one stream in one write.
struct LogPrinter {
    let stdout: Int32
    let stderr: Int32
    let timestamps: Bool
    private var buffer: [UInt8] = []
    private var stream = LogStream.stdout

    init(stdout: Int32, stderr: Int32, timestamps: Bool) {
        self.stdout = stdout
        self.stderr = stderr
        self.timestamps = timestamps
    }

    mutating func print(_ record: LogRecord) {
        if record.stream != stream {
            flush()
            stream = record.stream
        }
        if timestamps {
            record.time.append(to: &buffer)
            buffer.append(UInt8(ascii: " "))
        }
        buffer.append(contentsOf: record.bytes)
        if buffer.count >= 65536 { flush() }
    }

    mutating func flush() {
        let fd = stream == .stdout ? stdout : stderr
        var offset = 0
        while offset < buffer.count {
            let n = buffer[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
