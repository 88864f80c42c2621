import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// The log on disk: `--log-opt`, lines as the writer cuts them, rotation, and what `logs` selects.
@Suite struct LogFileTests {
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/contain-logs-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SystemError.last("mkdtemp") }
        return String(cString: made)
    }

    static func at(_ second: Int64) -> LogTimestamp { LogTimestamp(seconds: 1_704_164_645 + second) }

    // MARK: --log-opt

    @Test func logOptionsDefaultToDockersLocalDriver() throws {
        #expect(try LogOptions.parse([]) == LogOptions(maxSize: 20 << 20, maxFiles: 5))
        #expect(LogOptions() == LogOptions(maxSize: 20 << 20, maxFiles: 5))
    }

    @Test func logOptionsAsDockerTakesThem() throws {
        #expect(try LogOptions.parse(["max-size=10m", "max-file=3"]) == LogOptions(maxSize: 10 << 20, maxFiles: 3))
        #expect(try LogOptions.parse(["max-size=512k"]) == LogOptions(maxSize: 512 << 10, maxFiles: 5))
        #expect(try LogOptions.parse(["max-file=1"]) == LogOptions(maxSize: 20 << 20, maxFiles: 1))
        #expect(try LogOptions.parse(["max-size=-1"]).maxSize == .max)
        #expect(try LogOptions.parse(["max-size=1k", "max-size=2k"]).maxSize == 2048, "the last one wins")
    }

    @Test(arguments: ["max-size", "max-size=", "max-size=0", "max-size=ten", "max-file=0", "max-file=-1", "max-file=two",
                      "compress=true", "mode=non-blocking", "=5", "MAX-SIZE=1m"])
    func rejectsLogOptionsItCannotHonour(option: String) {
        #expect(throws: SpecError.self) { try LogOptions.parse([option]) }
    }

    // MARK: lines

    @Test func linesKeepTheirStreamAndPartialLinesAreKeptUntilTheirEnd() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions())
        writer.append(Array("out1\nout".utf8), from: .stdout, at: Self.at(0))
        writer.append(Array("err1\n".utf8), from: .stderr, at: Self.at(1))
        #expect(ContainerLogs.records(directory: dir).map(\.bytes) == [Array("out1\n".utf8), Array("err1\n".utf8)],
                "a partial line waits for the rest")
        writer.append(Array("2\nlast".utf8), from: .stdout, at: Self.at(2))
        writer.append(Array("no newline".utf8), from: .stderr, at: Self.at(3))
        writer.finish(.stdout, at: Self.at(3))
        writer.close()  // stderr's partial line: recorded by close
        var records = ContainerLogs.records(directory: dir)
        if records.count == 5 { records[4].time = Self.at(3) }
        #expect(records == [
            LogRecord(stream: .stdout, time: Self.at(0), bytes: Array("out1\n".utf8)),
            LogRecord(stream: .stderr, time: Self.at(1), bytes: Array("err1\n".utf8)),
            LogRecord(stream: .stdout, time: Self.at(2), bytes: Array("out2\n".utf8)),
            LogRecord(stream: .stdout, time: Self.at(3), bytes: Array("last".utf8)),
            LogRecord(stream: .stderr, time: Self.at(3), bytes: Array("no newline".utf8)),
        ])
    }

    @Test func aLongLineIsCutIntoRecordsThatConcatenateToIt() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions())
        let line = (0..<(ContainerLogWriter.maxLine * 2 + 100)).map { UInt8(ascii: "a") + UInt8($0 % 26) } + [0x0a]
        writer.append(line, from: .stdout)
        writer.close()
        let records = ContainerLogs.records(directory: dir)
        #expect(records.map(\.bytes.count) == [ContainerLogWriter.maxLine, ContainerLogWriter.maxLine, 101])
        #expect(records.flatMap(\.bytes) == line)
    }

    @Test func aNewWriterAppends() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        for text in ["first\n", "second\n"] {
            let writer = try ContainerLogWriter(directory: dir, options: LogOptions())
            writer.append(Array(text.utf8), from: .stdout)
            writer.close()
        }
        #expect(ContainerLogs.records(directory: dir).map { String(decoding: $0.bytes, as: UTF8.self) } == ["first\n", "second\n"])
    }

    // MARK: rotation

    @Test func rotationShiftsFilesDropsTheOldestAndKeepsTheOrder() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        // Each record is 76 bytes: two fit in 200 bytes, a third begins the next file.
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions(maxSize: 200, maxFiles: 3))
        for n in 0..<20 {
            writer.append(Array("line \(n < 10 ? "0" : "")\(n)\n".utf8), from: n % 3 == 0 ? .stderr : .stdout, at: Self.at(Int64(n)))
        }
        writer.close()
        let log = ContainerLogs.path(directory: dir)
        #expect(ContainerLogs.files(directory: dir) == [log + ".2", log + ".1", log])
        #expect(!Files.exists(log + ".3"), "max-file=3: the current file and two rotated ones")
        for file in ContainerLogs.files(directory: dir) {
            let size = try Files.readBytes(file).count
            #expect(size > 0 && size <= 200, "\(file): \(size) bytes")
        }
        // The newest records, whole and in order: 20 records, 2 per file, 3 files.
        let records = ContainerLogs.records(directory: dir)
        #expect(records.map { String(decoding: $0.bytes, as: UTF8.self) } == (14..<20).map { "line \($0)\n" })
        #expect(records.map(\.time) == (14..<20).map { Self.at(Int64($0)) })
        #expect(records.map(\.stream) == (14..<20).map { $0 % 3 == 0 ? LogStream.stderr : .stdout })
    }

    @Test func oneFileIsStartedAfreshWhenFull() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions(maxSize: 200, maxFiles: 1))
        for n in 0..<5 { writer.append(Array("line 0\(n)\n".utf8), from: .stdout) }
        writer.close()
        #expect(ContainerLogs.files(directory: dir) == [ContainerLogs.path(directory: dir)])
        #expect(ContainerLogs.records(directory: dir).map { String(decoding: $0.bytes, as: UTF8.self) } == ["line 04\n"])
    }

    @Test func aRecordLargerThanMaxSizeGetsAFileOfItsOwn() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions(maxSize: 100, maxFiles: 5))
        writer.append(Array("short\n".utf8), from: .stdout)
        writer.append(Array((String(repeating: "x", count: 300) + "\n").utf8), from: .stdout)
        writer.append(Array("after\n".utf8), from: .stdout)
        writer.close()
        #expect(ContainerLogs.files(directory: dir).count == 3)
        #expect(ContainerLogs.records(directory: dir).map(\.bytes.count) == [6, 301, 6])
    }

    // MARK: what logs prints

    static let sample: [LogRecord] = (0..<10).map {
        LogRecord(stream: $0 % 2 == 0 ? .stdout : .stderr, time: at(Int64($0)), bytes: Array("r\($0)\n".utf8))
    }

    /// A log of `sample` (two records a file: five files), as `show` prints it with `query`,
    /// both streams on one descriptor.
    static func selected(_ query: LogQuery) throws -> [String] {
        let dir = try temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions(maxSize: 200, maxFiles: 5))
        for record in sample { writer.append(record.bytes, from: record.stream, at: record.time) }
        writer.close()
        let out = dir + "/out"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer { close(fd) }
        try ContainerLogs.show(view(dir), query, stdout: fd, stderr: fd)
        return try Files.read(out).split(separator: "\n").map(String.init)
    }

    static func view(_ directory: String) -> ContainerView {
        let info = ContainerInfo(id: "abc", name: nil, command: ["sh"], created: 0, rootfs: "/", network: "none", keep: true)
        return ContainerView(directory: directory, info: info, status: ContainerStatus(), state: .exited(0))
    }

    @Test func tailSinceAndUntilSelect() throws {
        #expect(try Self.selected(LogQuery()) == (0..<10).map { "r\($0)" })
        #expect(try Self.selected(LogQuery(tail: 1)) == ["r9"])
        #expect(try Self.selected(LogQuery(tail: 3)) == ["r7", "r8", "r9"])
        #expect(try Self.selected(LogQuery(tail: 0)) == [])
        #expect(try Self.selected(LogQuery(tail: 50)).count == 10)
        #expect(try Self.selected(LogQuery(since: Self.at(7))) == ["r7", "r8", "r9"], "since is inclusive")
        #expect(try Self.selected(LogQuery(until: Self.at(2))) == ["r0", "r1", "r2"], "until is inclusive")
        #expect(try Self.selected(LogQuery(tail: 2, since: Self.at(3), until: Self.at(6))) == ["r5", "r6"], "tail of what is within")
        #expect(try LogQuery.parseTail("all") == nil)
        #expect(try LogQuery.parseTail("-1") == nil)
        #expect(try LogQuery.parseTail("7") == 7)
        #expect(throws: SpecError.self) { try LogQuery.parseTail("seven") }
        let query = try LogQuery(follow: true, tail: "2", since: "10m", until: "2024-01-02T03:04:05Z", timestamps: true, now: Self.at(600))
        #expect(query == LogQuery(follow: true, tail: 2, since: Self.at(0), until: Self.at(0), timestamps: true))
    }

    /// `logs` itself, on a real log of three files: stdout records to one fd, stderr to the
    /// other, `-t` prefixes, `--tail` reaches into the rotated files.
    @Test func showWritesEachStreamToItsOwnDescriptor() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? Files.removeTree(dir) }
        let writer = try ContainerLogWriter(directory: dir, options: LogOptions(maxSize: 200, maxFiles: 5))
        for record in Self.sample { writer.append(record.bytes, from: record.stream, at: record.time) }
        writer.close()
        #expect(ContainerLogs.files(directory: dir).count == 5)
        let view = Self.view(dir)

        func show(_ query: LogQuery) throws -> (out: String, err: String) {
            let out = dir + "/out", err = dir + "/err"
            let outFD = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600), errFD = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            try ContainerLogs.show(view, query, stdout: outFD, stderr: errFD)
            close(outFD); close(errFD)
            return (try Files.read(out), try Files.read(err))
        }
        let all = try show(LogQuery())
        #expect(all.out == "r0\nr2\nr4\nr6\nr8\n" && all.err == "r1\nr3\nr5\nr7\nr9\n")
        let tail = try show(LogQuery(tail: 3))
        #expect(tail.out == "r8\n" && tail.err == "r7\nr9\n")
        let stamped = try show(LogQuery(tail: 1, timestamps: true))
        #expect(stamped.err == "2024-01-02T03:04:14.000000000Z r9\n" && stamped.out == "")
        // follow on an ended container: what there is, then done.
        let followed = try show(LogQuery(follow: true, since: Self.at(8)))
        #expect(followed.out == "r8\n" && followed.err == "r9\n")
    }
}
