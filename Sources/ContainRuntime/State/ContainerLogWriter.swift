import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Writes a detached container's output into its record's log (`output.log`, see LogRecord for
/// the format), line by line and stream by stream, rotating by its LogOptions. Used by the
/// supervisor, which reads the container's stdout and stderr from pipes (StreamRelay).
///
/// A line is recorded once its newline arrives; one that grows past `maxLine` bytes is
/// recorded in pieces of that size, and what is left of one when its stream ends is recorded
/// as it is. What one read brought is written in one write(2). A failed write (a full disk)
/// drops that output and is reported on the supervisor's runtime log (once, until a write
/// succeeds again); the container is never held up by its log.
public final class ContainerLogWriter {
    /// Longest record: longer lines are cut (docker's json-file cuts at 16 KiB too).
    public static let maxLine = 16 * 1024

    public let path: String
    public let options: LogOptions
    private var fd: Int32 = -1
    private var size: UInt64 = 0
    private var pendingOut: [UInt8] = []
    private var pendingErr: [UInt8] = []
    private var batch: [UInt8] = []
    private var reportedFailure = false

    /// Opens (appends to) the log in the record `directory`.
    public init(directory: String, options: LogOptions) throws {
        path = ContainerLogs.path(directory: directory)
        self.options = options
        fd = try sys("open", path: path) { open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600) }
        var info = stat()
        if fstat(fd, &info) == 0 { size = UInt64(info.st_size) }
    }

    deinit { close() }

    /// Output read from `stream`: its complete lines are recorded, the rest kept for later.
    public func append(_ bytes: some Collection<UInt8>, from stream: LogStream, at time: LogTimestamp = .now()) {
        var pending = stream == .stdout ? pendingOut : pendingErr
        if stream == .stdout { pendingOut = [] } else { pendingErr = [] }
        pending.append(contentsOf: bytes)
        var start = 0
        while start < pending.count {
            if let newline = pending[start...].firstIndex(of: 0x0a), newline - start < Self.maxLine {
                record(pending[start...newline], stream, time)
                start = newline + 1
            } else if pending.count - start >= Self.maxLine {
                record(pending[start..<(start + Self.maxLine)], stream, time)
                start += Self.maxLine
            } else {
                break
            }
        }
        pending.removeFirst(start)
        if stream == .stdout { pendingOut = pending } else { pendingErr = pending }
        flush()
    }

    /// `stream` has ended: what is left of its last line is recorded.
    public func finish(_ stream: LogStream, at time: LogTimestamp = .now()) {
        let pending = stream == .stdout ? pendingOut : pendingErr
        guard !pending.isEmpty else { return }
        if stream == .stdout { pendingOut = [] } else { pendingErr = [] }
        record(pending[...], stream, time)
        flush()
    }

    /// Both streams finished, the file closed. Idempotent.
    public func close() {
        guard fd >= 0 else { return }
        finish(.stdout)
        finish(.stderr)
        Glibc.close(fd)
        fd = -1
    }

    private func record(_ bytes: ArraySlice<UInt8>, _ stream: LogStream, _ time: LogTimestamp) {
        let start = batch.count
        LogRecord.encode(stream: stream, time: time, bytes: bytes, into: &batch)
        let length = UInt64(batch.count - start)
        if size > 0, size >= options.maxSize || length > options.maxSize - size {
            // What came before goes into the file that is full; this record begins the next.
            let record = Array(batch[start...])
            batch.removeSubrange(start...)
            flush()
            rotate()
            batch = record
        }
        size += length
    }

    private func flush() {
        defer { batch.removeAll(keepingCapacity: true) }
        guard fd >= 0, !batch.isEmpty else { return }
        var offset = 0
        while offset < batch.count {
            let n = batch[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if !reportedFailure {
                    reportedFailure = true
                    Progress.error("the container's output is not logged: \(SystemError.last("write", path: path))")
                }
                return
            }
            offset += n
        }
        reportedFailure = false
    }

    /// `output.log` → `.1` → `.2` ... (the oldest dropped), and a new `output.log`.
    private func rotate() {
        Glibc.close(fd)
        if options.maxFiles <= 1 {
            unlink(path)
        } else {
            for index in stride(from: options.maxFiles - 1, through: 2, by: -1) {
                rename(path + ".\(index - 1)", path + ".\(index)")
            }
            rename(path, path + ".1")
        }
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        size = 0
        if fd < 0 && !reportedFailure {
            reportedFailure = true
            Progress.error("the container's output is not logged: \(SystemError.last("open", path: path))")
        }
    }
}
