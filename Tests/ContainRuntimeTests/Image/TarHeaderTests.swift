import Testing
@testable import ContainRuntime

@Suite struct TarHeaderTests {
    /// A ustar header block as tar writes it.
    static func octal(_ value: Int, digits: Int) -> String {
        let text = String(value, radix: 8)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    static func block(name: String, size: Int = 0, type: Character = "0", link: String = "", prefix: String = "") -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int) { for (i, c) in text.utf8.enumerated() { b[offset + i] = c } }
        put(name, at: 0)
        put("0000644\0", at: 100)
        put("0001750\0", at: 108)
        put("0000144\0", at: 116)
        put(octal(size, digits: 11) + "\0", at: 124)
        put("14712345670\0", at: 136)
        b[156] = type.asciiValue!
        put(link, at: 157)
        put("ustar\0", at: 257)
        put("00", at: 263)
        put(prefix, at: 345)
        let sum = b.enumerated().reduce(0) { $0 + (148..<156 ~= $1.offset ? 32 : Int($1.element)) }
        put(octal(sum, digits: 6) + "\0 ", at: 148)
        return b
    }

    @Test func parsesUstarFields() throws {
        let h = try #require(try TarHeader(block: Self.block(name: "bin/busybox", size: 1_234_567)))
        #expect(h.name == "bin/busybox")
        #expect(h.mode == 0o644)
        #expect(h.uid == 1000 && h.gid == 100)
        #expect(h.size == 1_234_567)
        #expect(h.kind == .file)
        let link = try #require(try TarHeader(block: Self.block(name: "bin/ls", type: "2", link: "busybox")))
        #expect(link.kind == .symlink && link.linkName == "busybox")
        let long = try #require(try TarHeader(block: Self.block(name: "file", prefix: "very/long/prefix")))
        #expect(long.name == "very/long/prefix/file")
        #expect(try TarHeader(block: Self.block(name: "d/", type: "5"))?.kind == .directory)
    }

    @Test func zeroBlockEndsAndGarbageIsRefused() throws {
        #expect(try TarHeader(block: [UInt8](repeating: 0, count: 512)) == nil)
        var bad = Self.block(name: "x")
        bad[0] = UInt8(ascii: "y")
        #expect(throws: TarHeader.Invalid.self) { try TarHeader(block: bad) }
        #expect(throws: TarHeader.Invalid.self) { try TarHeader(block: Array("not a tar".utf8) + [UInt8](repeating: 65, count: 503)) }
    }

    @Test func base256Sizes() {
        var field = [UInt8](repeating: 0, count: 12)
        field[0] = 0x80
        field[11] = 0x01
        field[10] = 0x02
        #expect(TarHeader.number(field[0..<12]) == 0x0201)
    }

    @Test func paxRecordsAndPaths() {
        let pax = Array("28 path=some/very/long/name\n19 linkpath=target\n".utf8)
        #expect(TarHeader.paxRecords(pax) == ["path": "some/very/long/name", "linkpath": "target"])
        #expect(TarHeader.components("./usr/bin/") == ["usr", "bin"])
        #expect(TarHeader.components("/etc/passwd") == ["etc", "passwd"])
        #expect(TarHeader.components("./") == [])
        #expect(TarHeader.components("a/../../b") == nil)
    }
}
