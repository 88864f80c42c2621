import Testing
@testable import ContainRuntime

@Suite struct AttachDetachKeysTests {
    @Test func parsesDockersFormat() throws {
        #expect(DetachKeys.default.bytes == [16, 17])
        #expect(try DetachKeys(parsing: "ctrl-p,ctrl-q") == .default)
        #expect(try DetachKeys(parsing: "ctrl-a").bytes == [1])
        #expect(try DetachKeys(parsing: "ctrl-@,ctrl-z,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_").bytes == [0, 26, 27, 28, 29, 30, 31])
        #expect(try DetachKeys(parsing: "a,b,c").bytes == Array("abc".utf8))
        #expect(try DetachKeys(parsing: "ctrl-x,x,DEL").bytes == [24, 120, 127])
        #expect(try DetachKeys(parsing: "").bytes == [], "empty: detaching by keys is off")
    }

    @Test(arguments: ["ctrl-P", "ctrl-", "ctrl-1", "ab", "ctrl-p,", "é", "ctrl-pq", "del", "a,,b", ","])
    func refusesWhatDockerRefuses(_ text: String) {
        #expect(throws: DetachKeysError.self) { try DetachKeys(parsing: text) }
    }

    @Test func errorNamesTheKey() {
        #expect(throws: DetachKeysError(text: "ctrl-p,ctrl-Q", key: "ctrl-Q")) { try DetachKeys(parsing: "ctrl-p,ctrl-Q") }
        #expect(DetachKeysError(text: "x,yy", key: "yy").description.contains("unknown key `yy`"))
    }

    @Test func sequenceInOneRead() {
        var scanner = DetachKeyScanner(keys: .default)
        let (forward, detached) = scanner.scan(Array("ls".utf8) + [16, 17] + Array("never sent".utf8))
        #expect(forward == Array("ls".utf8))
        #expect(detached)
    }

    @Test func sequenceAcrossReads() {
        var scanner = DetachKeyScanner(keys: .default)
        var result = scanner.scan(Array("echo".utf8) + [16])
        #expect(result.forward == Array("echo".utf8), "the ctrl-p is held back")
        #expect(!result.detached)
        result = scanner.scan([17])
        #expect(result.forward == [] && result.detached)
    }

    @Test func partialMatchThatFailsIsSentOn() {
        var scanner = DetachKeyScanner(keys: .default)
        var result = scanner.scan([16])
        #expect(result.forward == [] && !result.detached)
        result = scanner.scan(Array("x".utf8))
        #expect(result.forward == [16, 120] && !result.detached, "ctrl-p then x: both go to the container, in order")
        // ctrl-p ctrl-p ctrl-q: the first ctrl-p goes on, the other two detach.
        result = scanner.scan([16, 16, 17])
        #expect(result.forward == [16] && result.detached)
    }

    @Test func overlappingSequences() {
        var scanner = DetachKeyScanner(keys: DetachKeys(bytes: Array("aab".utf8)))
        let result = scanner.scan(Array("xaaab".utf8))
        #expect(result.forward == Array("xa".utf8) && result.detached)
        var split = DetachKeyScanner(keys: DetachKeys(bytes: Array("aab".utf8)))
        #expect(split.scan(Array("a".utf8)).forward == [])
        #expect(split.scan(Array("a".utf8)).forward == [])
        #expect(split.scan(Array("a".utf8)).forward == Array("a".utf8))
        #expect(split.scan(Array("b".utf8)) == ([], true))
    }

    @Test func heldBytesAreFlushedAtTheEnd() {
        var scanner = DetachKeyScanner(keys: DetachKeys(bytes: [1, 2, 3]))
        #expect(scanner.scan([9, 1, 2]).forward == [9])
        #expect(scanner.flush() == [1, 2])
        #expect(scanner.flush() == [])
        #expect(scanner.scan([3]).forward == [3], "flushed: the match starts over")
    }

    @Test func noKeysNoDetaching() {
        var scanner = DetachKeyScanner(keys: DetachKeys(bytes: []))
        let result = scanner.scan([16, 17, 16, 17])
        #expect(result.forward == [16, 17, 16, 17] && !result.detached)
        #expect(scanner.flush() == [])
    }
}
