import Glibc
import Testing
@testable import ContainRuntime

/// The supervisor's attach socket with real clients on a real socket (no root needed): the
/// hello, output to every client, input back in order, a client that does not read is dropped,
/// and the end: the exit status, then the connection and the socket file gone.
@Suite struct AttachServerTests {
    final class Scratch {
        let path: String
        init() {
            var template = Array("/tmp/attach-test-XXXXXX".utf8CString)
            path = String(cString: mkdtemp(&template))
        }
        deinit {
            unlink(path + "/attach.sock")
            rmdir(path)
        }
    }

    /// A client as `contain attach` is one: frames over a socket.
    final class Peer {
        let fd: Int32
        var decoder = AttachFrameDecoder()

        init(_ path: String) throws {
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            var address = try AttachServer.address(path)
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(rc == 0, "connect: errno \(errno)")
        }
        deinit { close(fd) }

        func send(_ frames: [AttachFrame]) {
            let bytes = frames.flatMap(\.encoded)
            #expect(bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } == bytes.count)
        }

        /// The next frame, nil at end of file (waits at most 5 s; `pumping`: serving it meanwhile).
        func next(pumping server: AttachServer? = nil) throws -> AttachFrame? {
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                if let frame = try decoder.next() { return frame }
                var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                var waited: Int32 = 0
                while poll(&entry, 1, 10) == 0 {
                    waited += 10
                    try #require(waited < 5000, "nothing arrived")
                    if let server { _ = AttachServerTests().serve(server, wait: 0) }
                }
                let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return nil }
                decoder.append(buffer[0..<n])
            }
        }
    }

    /// One round of the supervisor's loop: whatever is ready is handled.
    func serve(_ server: AttachServer, wait milliseconds: Int32 = 1000) -> [AttachServer.Input] {
        var entries = server.readFDs.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        entries += server.writeFDs.map { pollfd(fd: $0, events: Int16(POLLOUT), revents: 0) }
        guard poll(&entries, nfds_t(entries.count), milliseconds) > 0 else { return [] }
        return server.handle(Set(entries.filter { $0.revents != 0 }.map(\.fd)))
    }

    @Test func helloOutputInputAndTheEnd() throws {
        let scratch = Scratch()
        let server = try AttachServer(directory: scratch.path, hello: AttachHello(tty: true, stdinOpen: true))
        var st = stat()
        #expect(stat(server.path, &st) == 0 && st.st_mode & 0o777 == 0o600 && (st.st_mode & S_IFMT) == S_IFSOCK)

        let first = try Peer(server.path), second = try Peer(server.path)
        _ = serve(server)
        #expect(try first.next() == .hello(AttachHello(tty: true, stdinOpen: true)))
        #expect(try second.next() == .hello(AttachHello(tty: true, stdinOpen: true)))

        server.broadcast(Array("prompt$ ".utf8), stream: .stdout)
        #expect(try first.next() == .stdout(Array("prompt$ ".utf8)))
        #expect(try second.next() == .stdout(Array("prompt$ ".utf8)))

        first.send([.windowSize(rows: 30, columns: 100), .stdin(Array("echo hi".utf8)), .stdin([13]), .stdinEnd])
        var inputs: [AttachServer.Input] = []
        for _ in 0..<10 where inputs.count < 3 { inputs += serve(server) }
        #expect(inputs == [.windowSize(rows: 30, columns: 100), .stdin(Array("echo hi".utf8)), .stdin([13])])

        server.close(exitCode: 3)
        #expect(!FileManager_exists(server.path), "the socket file goes when the supervisor lets go")
        #expect(try first.next() == .exited(3))
        #expect(try first.next() == nil)
        #expect(try second.next() == .exited(3))
        #expect(try second.next() == nil)
        #expect(server.readFDs.isEmpty && server.writeFDs.isEmpty)
    }

    @Test func inputTheContainerDoesNotTakeIsDropped() throws {
        let scratch = Scratch()
        // run -dt without -i: the terminal's size is set, what is typed goes nowhere.
        let server = try AttachServer(directory: scratch.path, hello: AttachHello(tty: true, stdinOpen: false))
        let peer = try Peer(server.path)
        _ = serve(server)
        _ = try peer.next()
        peer.send([.stdin(Array("ignored".utf8)), .windowSize(rows: 2, columns: 3)])
        var inputs: [AttachServer.Input] = []
        for _ in 0..<10 where inputs.isEmpty { inputs += serve(server) }
        #expect(inputs == [.windowSize(rows: 2, columns: 3)])
        // Without a tty there is no window to size.
        let scratch2 = Scratch()
        let plain = try AttachServer(directory: scratch2.path, hello: AttachHello(tty: false, stdinOpen: true))
        let other = try Peer(plain.path)
        _ = serve(plain)
        _ = try other.next()
        other.send([.windowSize(rows: 2, columns: 3), .stdin([1])])
        inputs = []
        for _ in 0..<10 where inputs.isEmpty { inputs += serve(plain) }
        #expect(inputs == [.stdin([1])])
    }

    @Test func aClientThatDoesNotReadIsDroppedNotWaitedFor() throws {
        let scratch = Scratch()
        let server = try AttachServer(directory: scratch.path, hello: AttachHello(tty: false, stdinOpen: false))
        let slow = try Peer(server.path), reader = try Peer(server.path)
        _ = serve(server)
        _ = try reader.next()
        let chunk = [UInt8](repeating: 0x61, count: 65536)
        var received = 0
        // Far more than the socket buffers and the queue hold; the reader keeps up.
        for _ in 0..<64 {
            server.broadcast(chunk, stream: .stderr)
            if case .stderr(let bytes)? = try reader.next(pumping: server) { received += bytes.count }
        }
        #expect(received == 64 * 65536)
        #expect(server.writeFDs.isEmpty, "nothing queued for anyone: the slow client is gone")
        // The slow one gets what was sent before it was dropped, then end of file, no exit status.
        var frames: [AttachFrame] = []
        while let frame = try slow.next() { frames.append(frame) }
        #expect(frames.first == .hello(AttachHello(tty: false, stdinOpen: false)))
        #expect(!frames.contains(.exited(0)))
        server.close(exitCode: 0)
        #expect(try reader.next() == .exited(0))
    }

    @Test func aClientThatSendsWhatOnlyTheSupervisorSendsIsDropped() throws {
        let scratch = Scratch()
        let server = try AttachServer(directory: scratch.path, hello: AttachHello(tty: false, stdinOpen: true))
        let peer = try Peer(server.path)
        _ = serve(server)
        _ = try peer.next()
        peer.send([.exited(0), .stdin([1])])
        #expect(serve(server) == [])
        #expect(try peer.next() == nil, "disconnected")
    }

    @Test func aLongRecordPathStillBinds() throws {
        // A record's path can pass sun_path's 108 bytes; the socket is bound through the
        // directory's descriptor.
        let scratch = Scratch()
        var long = scratch.path
        var made: [String] = []
        while long.utf8.count < 130 {
            long += "/" + String(repeating: "d", count: 40)
            #expect(mkdir(long, 0o700) == 0)
            made.append(long)
        }
        defer { for dir in made.reversed() { unlink(dir + "/attach.sock"); rmdir(dir) } }
        let server = try AttachServer(directory: long, hello: AttachHello(tty: false, stdinOpen: false))
        #expect(FileManager_exists(long + "/attach.sock"))
        server.close(exitCode: nil)
        #expect(!FileManager_exists(long + "/attach.sock"))
    }
}

private func FileManager_exists(_ path: String) -> Bool {
    var st = stat()
    return lstat(path, &st) == 0
}
