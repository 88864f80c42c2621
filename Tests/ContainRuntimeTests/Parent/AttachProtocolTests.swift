import Glibc
import Testing
@testable import ContainRuntime

@Suite struct AttachProtocolTests {
    static let frames: [AttachFrame] = [
        .hello(AttachHello(tty: true, stdinOpen: false)), .hello(AttachHello(tty: false, stdinOpen: true)),
        .stdout(Array("hi-2\r\n".utf8)), .stderr([0, 0xff, 0x0a]), .stdout([]), .exited(137), .exited(-1),
        .stdin(Array("echo hi\n".utf8)), .stdinEnd, .windowSize(rows: 30, columns: 100), .windowSize(rows: 0xffff, columns: 1),
    ]

    @Test func framesHaveTheDocumentedBytes() {
        #expect(AttachFrame.stdout(Array("ab".utf8)).encoded == [2, 2, 0, 0, 0, 0x61, 0x62])
        #expect(AttachFrame.stderr([7]).encoded == [3, 1, 0, 0, 0, 7])
        #expect(AttachFrame.hello(AttachHello(tty: true, stdinOpen: true)).encoded == [1, 2, 0, 0, 0, 1, 3])
        #expect(AttachFrame.exited(3).encoded == [4, 4, 0, 0, 0, 3, 0, 0, 0])
        #expect(AttachFrame.stdin([0x10]).encoded == [16, 1, 0, 0, 0, 0x10])
        #expect(AttachFrame.stdinEnd.encoded == [17, 0, 0, 0, 0])
        #expect(AttachFrame.windowSize(rows: 0x0102, columns: 0x0304).encoded == [18, 4, 0, 0, 0, 2, 1, 4, 3])
        #expect(AttachFrame.output(Array("ab".utf8), stream: .stdout) == AttachFrame.stdout(Array("ab".utf8)).encoded)
        #expect(AttachFrame.output([1], stream: .stderr) == AttachFrame.stderr([1]).encoded)
    }

    @Test func directionOfEachFrame() {
        #expect(Self.frames.filter(\.fromSupervisor).count == 7)
        #expect(!AttachFrame.stdinEnd.fromSupervisor && AttachFrame.exited(0).fromSupervisor)
    }

    @Test func roundTripInOneRead() throws {
        var decoder = AttachFrameDecoder()
        decoder.append(Self.frames.flatMap(\.encoded))
        var decoded: [AttachFrame] = []
        while let frame = try decoder.next() { decoded.append(frame) }
        #expect(decoded == Self.frames)
        #expect(decoder.buffered == 0)
    }

    /// The stream cut at every possible size: frames come out whole and in order.
    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 11, 64])
    func roundTripInPieces(size: Int) throws {
        let bytes = Self.frames.flatMap(\.encoded)
        var decoder = AttachFrameDecoder()
        var decoded: [AttachFrame] = []
        var offset = 0
        while offset < bytes.count {
            decoder.append(bytes[offset..<min(offset + size, bytes.count)])
            offset += size
            while let frame = try decoder.next() { decoded.append(frame) }
        }
        #expect(decoded == Self.frames)
    }

    @Test func incompleteFrameWaits() throws {
        var decoder = AttachFrameDecoder()
        decoder.append([2, 3, 0, 0])
        #expect(try decoder.next() == nil)
        decoder.append([0, 0x61, 0x62])
        #expect(try decoder.next() == nil)
        decoder.append([0x63, 17])
        #expect(try decoder.next() == .stdout(Array("abc".utf8)))
        #expect(try decoder.next() == nil)
        #expect(decoder.buffered == 1)
    }

    @Test func badFramesAreErrors() throws {
        var unknown = AttachFrameDecoder()
        unknown.append([9, 0, 0, 0, 0])
        #expect(throws: AttachProtocolError.unknownKind(9)) { try unknown.next() }

        var huge = AttachFrameDecoder()
        huge.append([16, 1, 0, 0x10, 0])  // 1 MiB and a byte: too long, known from the header alone
        #expect(throws: AttachProtocolError.tooLong(kind: 16, length: 0x100001)) { try huge.next() }
        var largest = AttachFrameDecoder()
        largest.append([16, 0, 0, 0x10, 0])
        #expect(try largest.next() == nil, "1 MiB is allowed: it waits for its payload")
        var window = AttachFrameDecoder()
        window.append([18, 3, 0, 0, 0, 1, 2, 3])
        #expect(throws: AttachProtocolError.malformed(kind: 18, length: 3)) { try window.next() }

        var end = AttachFrameDecoder()
        end.append([17, 1, 0, 0, 0, 0])
        #expect(throws: AttachProtocolError.malformed(kind: 17, length: 1)) { try end.next() }
    }
}
