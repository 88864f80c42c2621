import Testing
@testable import ContainNetwork

/// Queries as `dig` sends them, written out byte by byte.
enum DigQuery {
    /// `dig +noedns web A`: id 0xabcd, flags RD|AD, one question.
    static let web: [UInt8] = [
        0xab, 0xcd, 0x01, 0x20,                          // id, flags: RD, AD
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // qd 1, an 0, ns 0, ar 0
        0x03, 0x77, 0x65, 0x62, 0x00,                    // "web", root
        0x00, 0x01, 0x00, 0x01,                          // type A, class IN
    ]

    /// `dig web A` (EDNS by default): the same plus an OPT record with a client cookie.
    static let webWithEDNS: [UInt8] = [
        0xab, 0xce, 0x01, 0x20,                          // id, flags: RD, AD
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // qd 1, an 0, ns 0, ar 1
        0x03, 0x77, 0x65, 0x62, 0x00,                    // "web", root
        0x00, 0x01, 0x00, 0x01,                          // type A, class IN
        0x00,                                            // OPT: owner root
        0x00, 0x29, 0x04, 0xd0,                          // type 41, class = payload 1232
        0x00, 0x00, 0x00, 0x00,                          // extended rcode, version, flags
        0x00, 0x0c,                                      // rdlength 12
        0x00, 0x0a, 0x00, 0x08,                          // option COOKIE, length 8
        0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,  // client cookie
    ]
}

@Suite struct DNSMessageTests {
    static let webName = DNSName("web")!

    static func query(_ name: String, type: UInt16, id: UInt16 = 0x1234, edns: Int? = nil) -> DNSQuery {
        DNSQuery(id: id, opcode: 0, recursionDesired: true, checkingDisabled: false,
                 question: DNSQuestion(name: DNSName(name)!, type: type, qclass: 1), ednsPayloadSize: edns)
    }

    /// A message from hex-ish bytes with the header's counts given.
    static func message(id: UInt16 = 0x0102, flags: UInt16 = 0x0100, counts: [UInt16] = [1, 0, 0, 0],
                        _ body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in [id, flags] + counts { bytes += [UInt8(value >> 8), UInt8(value & 0xff)] }
        return bytes + body
    }

    // MARK: - Parsing queries

    @Test func parsesDigQueryWithoutEDNS() {
        #expect(DNSMessage.parse(DigQuery.web) == .query(DNSQuery(
            id: 0xabcd, opcode: 0, recursionDesired: true, checkingDisabled: false,
            question: DNSQuestion(name: Self.webName, type: DNSType.a, qclass: 1), ednsPayloadSize: nil)))
    }

    @Test func parsesDigQueryWithEDNS() {
        guard case .query(let query) = DNSMessage.parse(DigQuery.webWithEDNS) else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.id == 0xabce)
        #expect(query.question.name.labels == ["web"])
        #expect(query.question.type == DNSType.a)
        #expect(query.ednsPayloadSize == 1232)
        #expect(DNSMessage.udpLimit(for: query) == 1232)
    }

    @Test func readsFlagsAndOpcode() {
        // opcode 2 (STATUS), CD set, RD clear
        guard case .query(let query) = DNSMessage.parse(Self.message(flags: 0x1010, Array(DigQuery.web[12...])))
        else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.opcode == 2)
        #expect(query.checkingDisabled)
        #expect(!query.recursionDesired)
    }

    @Test func lowercasesTheQuestionButEchoesItsSpelling() throws {
        let bytes = Self.message([3, 0x57, 0x65, 0x42, 0, 0, 1, 0, 1])  // "WeB"
        guard case .query(let query) = DNSMessage.parse(bytes) else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.question.name == Self.webName)
        #expect(query.question.name.description == "web")
        let response = DNSMessage.response(to: query, code: .noError, answers: [], ttl: 60)
        #expect(Array(response[12..<21]) == [3, 0x57, 0x65, 0x42, 0, 0, 1, 0, 1])
        #expect(DNSMessage.isResponse(response, to: query))
    }

    @Test func skipsAuthorityAndFindsOPTAmongAdditionals() {
        let bytes = Self.message(counts: [1, 0, 1, 2], [
            3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1,              // question web A IN
            0xc0, 0x0c, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 0x0c,  // authority: web NS web
            0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1,  // additional: web A 10.0.0.1
            0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0, 0, 0,           // OPT 4096, DO
            0xde, 0xad,                                          // trailing garbage
        ])
        guard case .query(let query) = DNSMessage.parse(bytes) else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.ednsPayloadSize == 4096)
        #expect(DNSMessage.udpLimit(for: query) == 1232)
    }

    @Test func anOPTOutsideTheAdditionalSectionIsNotEDNS() {
        let bytes = Self.message(counts: [1, 0, 1, 0], [
            3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1,
            0, 0, 41, 0x10, 0x00, 0, 0, 0, 0, 0, 0,
        ])
        guard case .query(let query) = DNSMessage.parse(bytes) else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.ednsPayloadSize == nil)
    }

    @Test func udpLimitStaysBetween512And1232() {
        #expect(DNSMessage.udpLimit(for: Self.query("web", type: DNSType.a)) == 512)
        #expect(DNSMessage.udpLimit(for: Self.query("web", type: DNSType.a, edns: 100)) == 512)
        #expect(DNSMessage.udpLimit(for: Self.query("web", type: DNSType.a, edns: 1000)) == 1000)
        #expect(DNSMessage.udpLimit(for: Self.query("web", type: DNSType.a, edns: 65535)) == 1232)
    }

    // MARK: - Malformed input

    @Test func tooShortForAHeaderIsDropped() {
        #expect(DNSMessage.parse([]) == .drop)
        #expect(DNSMessage.parse([1, 2, 3, 4, 5]) == .drop)
        #expect(DNSMessage.parse(Array(DigQuery.web[0..<11])) == .drop)
    }

    @Test func responsesAreDropped() {
        var bytes = DigQuery.web
        bytes[2] |= 0x80
        #expect(DNSMessage.parse(bytes) == .drop)
        #expect(DNSMessage.parse(Array(bytes[0..<12])) == .drop)
    }

    @Test(arguments: [
        ("header only, qdcount 1", message(counts: [1, 0, 0, 0], [])),
        ("qdcount 0", message(counts: [0, 0, 0, 0], [])),
        ("qdcount 2", message(counts: [2, 0, 0, 0], [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1])),
        ("pointer to itself", message([0xc0, 0x0c, 0, 1, 0, 1])),
        ("pointer forward", message([0xc0, 0x0e, 0, 1, 0, 1, 0])),
        ("pointer out of range", message([0xff, 0xff, 0, 1, 0, 1])),
        ("pointer cut short", message([0xc0])),
        ("label length 64", message([0x40] + [UInt8](repeating: 0x61, count: 64) + [0, 0, 1, 0, 1])),
        ("label type 10", message([0x80, 0, 0, 1, 0, 1])),
        ("name cut short", message([3, 0x77, 0x65])),
        ("name without root", message([3, 0x77, 0x65, 0x62])),
        ("type cut short", message([3, 0x77, 0x65, 0x62, 0, 0, 1, 0])),
        ("name over 255 bytes", message(Array(repeating: [63] + [UInt8](repeating: 0x61, count: 63), count: 4)
            .flatMap { $0 } + [0, 0, 1, 0, 1])),
        ("additional record missing", message(counts: [1, 0, 0, 1], [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1])),
        ("authority rdata cut short", message(counts: [1, 0, 1, 0],
                                              [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 10])),
        ("two OPT records", message(counts: [1, 0, 0, 2], [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1,
                                                           0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0,
                                                           0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])),
        ("OPT not owned by the root", message(counts: [1, 0, 0, 1], [3, 0x77, 0x65, 0x62, 0, 0, 1, 0, 1,
                                                                     0xc0, 0x0c, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])),
    ])
    func malformedQueriesAreAnsweredFormerr(reason: String, bytes: [UInt8]) {
        #expect(DNSMessage.parse(bytes) == .malformed(id: 0x0102, opcode: 0), "\(reason)")
    }

    @Test func malformedKeepsTheOpcode() {
        #expect(DNSMessage.parse(Self.message(flags: 0x2800, counts: [0, 0, 0, 0], []))
            == .malformed(id: 0x0102, opcode: 5))
    }

    @Test func longestNamesAndLabelsAreAccepted() {
        // 3 labels of 63 and one of 61: 255 bytes encoded
        let labels: [[UInt8]] = Array(repeating: Array(repeating: 0x61, count: 63), count: 3)
            + [Array(repeating: 0x62, count: 61)]
        let name: [UInt8] = labels.flatMap { label -> [UInt8] in [UInt8(label.count)] + label } + [0]
        #expect(name.count == 255)
        guard case .query(let query) = DNSMessage.parse(Self.message(name + [0, 1, 0, 1])) else {
            Issue.record("not parsed as a query")
            return
        }
        #expect(query.question.name.labels.map { $0.utf8.count } == [63, 63, 63, 61])
    }

    @Test func namesFollowBackwardPointers() {
        // "example.com" at 0, "web" + pointer to it at 13, pointer to that at 19
        let bytes: [UInt8] = [7] + Array("example".utf8) + [3] + Array("com".utf8) + [0,
                              3] + Array("web".utf8) + [0xc0, 0x00, 0xc0, 13, 0xff]
        var reader = DNSReader(bytes, offset: 19)
        #expect(reader.name() == [Array("web".utf8), Array("example".utf8), Array("com".utf8)])
        #expect(reader.offset == 21)
    }

    @Test func atMost128PointersAreFollowed() {
        func chain(_ jumps: Int) -> [UInt8] {
            // the root at 0, then pointers each to the one before
            var bytes: [UInt8] = [0]
            for index in 0..<jumps {
                let target = index == 0 ? 0 : 1 + 2 * (index - 1)
                bytes += [0xc0 | UInt8(target >> 8), UInt8(target & 0xff)]
            }
            return bytes
        }
        var ok = DNSReader(chain(128), offset: 1 + 2 * 127)
        #expect(ok.name() == [])
        var tooMany = DNSReader(chain(129), offset: 1 + 2 * 128)
        #expect(tooMany.name() == nil)
    }

    // MARK: - Responses

    @Test func answersAWithTwoAddresses() {
        let response = DNSMessage.response(to: Self.query("web", type: DNSType.a), code: .noError,
                                           answers: [.a(IPv4Address("10.88.0.2")!), .a(IPv4Address("10.88.0.3")!)],
                                           ttl: 60)
        #expect(response == [
            0x12, 0x34, 0x85, 0x80,                          // id; QR, AA, RD; RA, NOERROR
            0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,  // qd 1, an 2
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,  // web A IN
            0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 10, 88, 0, 2,
            0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 10, 88, 0, 3,
        ])
    }

    @Test func answersAAAA() {
        let address: [UInt8] = [0xfd, 0x00] + Array(repeating: 0, count: 13) + [2]  // fd00::2
        let response = DNSMessage.response(to: Self.query("web", type: DNSType.aaaa), code: .noError,
                                           answers: [.aaaa(address), .aaaa([1, 2, 3])], ttl: 0x0102_0304)
        #expect(response == [
            0x12, 0x34, 0x85, 0x80,
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x1c, 0x00, 0x01,  // web AAAA IN
            0xc0, 0x0c, 0x00, 0x1c, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04, 0x00, 0x10,
        ] + address)  // the 3-byte "address" is left out
    }

    @Test func answersPTR() {
        let query = DNSQuery(id: 7, opcode: 0, recursionDesired: false, checkingDisabled: true,
                             question: DNSQuestion(name: DNSName.reverse(IPv4Address("10.88.0.2")!),
                                                   type: DNSType.ptr, qclass: 1),
                             ednsPayloadSize: nil)
        let response = DNSMessage.response(to: query, code: .noError, answers: [.ptr(Self.webName)], ttl: 5)
        #expect(response == [
            0x00, 0x07, 0x84, 0x90,                          // QR, AA; RA, CD
            0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            1, 0x32, 1, 0x30, 2, 0x38, 0x38, 2, 0x31, 0x30,  // 2.0.88.10
            7, 0x69, 0x6e, 0x2d, 0x61, 0x64, 0x64, 0x72,     // in-addr
            4, 0x61, 0x72, 0x70, 0x61, 0,                    // arpa
            0x00, 0x0c, 0x00, 0x01,                          // PTR IN
            0xc0, 0x0c, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x05,
            0x03, 0x77, 0x65, 0x62, 0x00,                    // web
        ])
    }

    @Test(arguments: [
        (DNSResponseCode.nameError, UInt8(0x83)),
        (.noError, 0x80),
        (.refused, 0x85),
        (.serverFailure, 0x82),
        (.notImplemented, 0x84),
    ])
    func answersWithoutRecords(code: DNSResponseCode, flagsLow: UInt8) {
        let response = DNSMessage.response(to: Self.query("web", type: DNSType.a), code: code, answers: [], ttl: 60)
        #expect(response == [
            0x12, 0x34, 0x85, flagsLow,
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
        ])
    }

    @Test func ednsQueriesGetAnOPTRecord() {
        let response = DNSMessage.response(to: Self.query("web", type: DNSType.a, edns: 4096), code: .nameError,
                                           answers: [], ttl: 60)
        #expect(response == [
            0x12, 0x34, 0x85, 0x83,
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,  // ar 1
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
            0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // OPT 1232
        ])
    }

    @Test func answersThatDoNotFitAreDroppedWithTC() {
        let answers = (0..<40).map { DNSAnswer.a(IPv4Address(0x0a58_0000 + UInt32($0))) }
        let query = Self.query("web", type: DNSType.a)
        let response = DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60,
                                           maxSize: DNSMessage.udpLimit(for: query))
        #expect(response.count <= 512)
        #expect(response == [
            0x12, 0x34, 0x87, 0x80,                          // TC set
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
        ])
        // Over TCP (no limit to speak of) they are all there.
        #expect(DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60, maxSize: 65535).count
            == 21 + 40 * 16)
    }

    @Test func ednsLetsLargerAnswersFit() {
        let answers = (0..<40).map { DNSAnswer.a(IPv4Address(0x0a58_0000 + UInt32($0))) }
        let query = Self.query("web", type: DNSType.a, edns: 1232)
        let response = DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60,
                                           maxSize: DNSMessage.udpLimit(for: query))
        #expect(response.count == 21 + 40 * 16 + 11)
        #expect(response[2] & 0x02 == 0)
        #expect(Array(response[4..<12]) == [0, 1, 0, 40, 0, 0, 0, 1])

        // The OPT counts within the limit: exactly at it fits, one byte less does not.
        let exact = DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60, maxSize: response.count)
        #expect(exact == response)
        let short = DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60,
                                        maxSize: response.count - 1)
        #expect(short.count == 21 + 11)
        #expect(short[2] & 0x02 != 0)
        #expect(Array(short[4..<12]) == [0, 1, 0, 0, 0, 0, 0, 1])
    }

    @Test func responsesAreNeverTakenForQueries() {
        let response = DNSMessage.response(to: Self.query("web", type: DNSType.a), code: .noError,
                                           answers: [.a(IPv4Address("10.88.0.2")!)], ttl: 60)
        #expect(DNSMessage.parse(response) == .drop)
    }

    @Test func headerOnlyKeepsIdAndOpcode() {
        #expect(DNSMessage.headerOnly(id: 0xbeef, opcode: 0, code: .formatError)
            == [0xbe, 0xef, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(DNSMessage.headerOnly(id: 1, opcode: 5, code: .notImplemented)
            == [0x00, 0x01, 0xa8, 0x04, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func unencodableQuestionGivesServfail() {
        let query = DNSQuery(id: 9, opcode: 0, recursionDesired: true, checkingDisabled: false,
                             question: DNSQuestion(name: DNSName(labels: ["", "x"]), type: 1, qclass: 1),
                             ednsPayloadSize: nil)
        #expect(DNSMessage.response(to: query, code: .noError, answers: [.a(IPv4Address(1))], ttl: 1)
            == [0, 9, 0x85, 0x82, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    // MARK: - Names

    @Test func namesAreLowercasedWithoutTheRoot() {
        #expect(DNSName("web")?.labels == ["web"])
        #expect(DNSName("web.") == DNSName("web"))
        #expect(DNSName("Web.Example.COM")?.labels == ["web", "example", "com"])
        #expect(DNSName("Web.Example.COM.")?.description == "web.example.com")
        #expect(DNSName("")?.labels == [])
        #expect(DNSName(".")?.labels == [])
        #expect(DNSName(String(repeating: "a", count: 63)) != nil)
        #expect(Set([DNSName("WEB")!, DNSName(labels: ["web"])]).count == 1)
    }

    @Test(arguments: ["..", "a..b", ".web", "web..", String(repeating: "a", count: 64),
                      Array(repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")])
    func badNamesAreRejected(text: String) {
        #expect(DNSName(text) == nil)
    }

    @Test func nameLengthLimitIs253() {
        let longest = Array(repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".")
            + "." + String(repeating: "b", count: 61)
        #expect(longest.utf8.count == 253)
        #expect(DNSName(longest) != nil)
        #expect(DNSName(longest + ".") != nil)
        #expect(DNSName(longest + "b") == nil)
    }

    @Test(arguments: ["10.88.0.2", "0.0.0.0", "255.255.255.255", "192.0.2.10"])
    func reverseIPv4RoundTrips(text: String) {
        let address = IPv4Address(text)!
        let name = DNSName.reverse(address)
        #expect(name.reverseIPv4 == address)
        #expect(DNSName(name.description)?.reverseIPv4 == address)
    }

    @Test func reverseIPv4Name() {
        #expect(DNSName.reverse(IPv4Address("10.88.0.2")!).description == "2.0.88.10.in-addr.arpa")
        #expect(DNSName("2.0.88.10.IN-ADDR.ARPA.")?.reverseIPv4 == IPv4Address("10.88.0.2"))
    }

    @Test(arguments: ["0.88.10.in-addr.arpa", "1.2.0.88.10.in-addr.arpa", "256.0.88.10.in-addr.arpa",
                      "02.0.88.10.in-addr.arpa", "x.0.88.10.in-addr.arpa", "-1.0.88.10.in-addr.arpa",
                      "2.0.88.10.in-addr.arpa.com", "2.0.88.10.ip6.arpa", "web"])
    func reverseIPv4RejectsOthers(text: String) {
        #expect(DNSName(text)?.reverseIPv4 == nil)
    }

    @Test func reverseIPv6RoundTrips() {
        let address: [UInt8] = [0xfd, 0x00, 0x12, 0x34, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0xef, 0x02]
        let name = DNSName.reverse(ipv6: address)
        #expect(name.description == "2.0.f.e.d.c.b.a.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.3.2.1.0.0.d.f.ip6.arpa")
        #expect(name.reverseIPv6 == address)
        #expect(DNSName(name.description.uppercased())?.reverseIPv6 == address)
        for byte: UInt8 in [0, 0x0f, 0xf0, 0xff] {
            let bytes = [UInt8](repeating: byte, count: 16)
            #expect(DNSName.reverse(ipv6: bytes).reverseIPv6 == bytes)
        }
    }

    @Test func reverseIPv6RejectsOthers() {
        let good = DNSName.reverse(ipv6: [UInt8](repeating: 1, count: 16)).labels
        #expect(DNSName(labels: Array(good.dropFirst())).reverseIPv6 == nil)
        #expect(DNSName(labels: ["0"] + good).reverseIPv6 == nil)
        #expect(DNSName(labels: ["g"] + good.dropFirst()).reverseIPv6 == nil)
        #expect(DNSName(labels: ["10"] + good.dropFirst()).reverseIPv6 == nil)
        #expect(DNSName(labels: Array(good.dropLast()) + ["arpa2"]).reverseIPv6 == nil)
        #expect(DNSName.reverse(IPv4Address(1)).reverseIPv6 == nil)
        #expect(DNSName.reverse(ipv6: [1, 2]).reverseIPv6 == nil)
    }

    // MARK: - Forwarding

    @Test func idsAreReadAndReplaced() {
        #expect(DNSMessage.id(of: DigQuery.web) == 0xabcd)
        #expect(DNSMessage.id(of: [0x12]) == nil)
        #expect(DNSMessage.id(of: [0x12, 0x34]) == 0x1234)
        let replaced = DNSMessage.replacingID(DigQuery.web, with: 0x0102)
        #expect(Array(replaced[0..<2]) == [0x01, 0x02])
        #expect(Array(replaced[2...]) == Array(DigQuery.web[2...]))
        #expect(DNSMessage.replacingID([7], with: 1) == [7])
        #expect(DNSMessage.replacingID([], with: 1) == [])
    }

    @Test func truncatedKeepsHeaderAndQuestion() {
        let query = Self.query("web", type: DNSType.a, edns: 4096)
        let answers = (0..<40).map { DNSAnswer.a(IPv4Address(0x0a58_0000 + UInt32($0))) }
        let full = DNSMessage.response(to: query, code: .noError, answers: answers, ttl: 60, maxSize: 4096)
        #expect(full.count == 672)
        #expect(DNSMessage.truncated(full, maxSize: 672) == full)
        #expect(DNSMessage.truncated(full, maxSize: 512) == [
            0x12, 0x34, 0x87, 0x80,                          // TC set, the rest of the flags kept
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x03, 0x77, 0x65, 0x62, 0x00, 0x00, 0x01, 0x00, 0x01,
        ])
    }

    @Test func truncatedNeedsAReadableQuestion() {
        #expect(DNSMessage.truncated([1, 2, 3], maxSize: 2) == nil)
        #expect(DNSMessage.truncated([1, 2, 3], maxSize: 512) == [1, 2, 3])
        let cut = Self.message(flags: 0x8180, counts: [1, 1, 0, 0], [3, 0x77, 0x65] + [UInt8](repeating: 0, count: 600))
        #expect(DNSMessage.truncated(Array(cut[0..<15]), maxSize: 12) == nil)
        let looping = Self.message(flags: 0x8180, counts: [1, 1, 0, 0], [0xc0, 0x0c, 0, 1, 0, 1]
                                       + [UInt8](repeating: 0, count: 600))
        #expect(DNSMessage.truncated(looping, maxSize: 512) == nil)
    }

    @Test func recognisesTheMatchingResponse() {
        let query = Self.query("web.example", type: DNSType.a)
        let response = DNSMessage.response(to: query, code: .noError, answers: [.a(IPv4Address(1))], ttl: 1)
        #expect(DNSMessage.isResponse(response, to: query))

        // An upstream's spelling may differ in case.
        var upper = response
        upper[13] = 0x57  // "Web"
        #expect(DNSMessage.isResponse(upper, to: query))

        var otherID = query
        otherID.id = 0x4321
        #expect(!DNSMessage.isResponse(response, to: otherID))
        #expect(!DNSMessage.isResponse(response, to: Self.query("web.example", type: DNSType.aaaa)))
        #expect(!DNSMessage.isResponse(response, to: Self.query("web.exampl", type: DNSType.a)))
        #expect(!DNSMessage.isResponse(response, to: Self.query("web", type: DNSType.a)))
        var otherClass = query
        otherClass.question.qclass = 3
        #expect(!DNSMessage.isResponse(response, to: otherClass))

        var notResponse = response
        notResponse[2] &= 0x7f
        #expect(!DNSMessage.isResponse(notResponse, to: query))
        #expect(!DNSMessage.isResponse(DNSMessage.headerOnly(id: 0x1234, opcode: 0, code: .serverFailure), to: query))
        #expect(!DNSMessage.isResponse(Array(response[0..<20]), to: query))
        #expect(!DNSMessage.isResponse([], to: query))
    }

    // MARK: - Any input

    @Test func noInputCrashes() {
        var random = SplitMix64(seed: 0x00c0_ffee)
        let query = Self.query("web", type: DNSType.a, edns: 1232)
        let seeds: [[UInt8]] = [
            DigQuery.web, DigQuery.webWithEDNS,
            DNSMessage.response(to: query, code: .noError, answers: [.a(IPv4Address(1)), .a(IPv4Address(2))], ttl: 9),
            DNSMessage.response(to: Self.query("2.0.88.10.in-addr.arpa", type: DNSType.ptr), code: .noError,
                                answers: [.ptr(Self.webName)], ttl: 9),
        ]
        let interesting: [UInt8] = [0x00, 0x01, 0x3f, 0x40, 0x80, 0xc0, 0xc0, 0xff, 0x0c, 0x29]
        var queries = 0
        for round in 0..<4000 {
            var bytes: [UInt8]
            if round % 4 == 0 {
                // plain noise, heavy on the bytes that matter to names
                bytes = (0..<random.below(300)).map { _ in
                    random.below(2) == 0 ? interesting[random.below(interesting.count)] : UInt8(truncatingIfNeeded: random.next())
                }
            } else {
                bytes = seeds[random.below(seeds.count)]
                for _ in 0..<(1 + random.below(6)) {
                    switch random.below(5) {
                    case 0 where !bytes.isEmpty:
                        bytes[random.below(bytes.count)] = UInt8(truncatingIfNeeded: random.next())
                    case 1 where !bytes.isEmpty:
                        bytes[random.below(bytes.count)] = interesting[random.below(interesting.count)]
                    case 2:
                        bytes = Array(bytes.prefix(random.below(bytes.count + 1)))
                    case 3:
                        bytes.insert(interesting[random.below(interesting.count)], at: random.below(bytes.count + 1))
                    default:
                        // a random count in the header
                        if bytes.count >= 12 { bytes[4 + random.below(8)] = UInt8(truncatingIfNeeded: random.next()) }
                    }
                }
            }

            let maxSize = random.below(700)
            if case .query(let parsed) = DNSMessage.parse(bytes) {
                queries += 1
                let limit = DNSMessage.udpLimit(for: parsed)
                #expect((512...1232).contains(limit))
                let response = DNSMessage.response(to: parsed, code: .noError,
                                                   answers: [.a(IPv4Address(1)), .aaaa([UInt8](repeating: 1, count: 16)),
                                                             .ptr(Self.webName)],
                                                   ttl: UInt32(truncatingIfNeeded: random.next()), maxSize: limit)
                #expect(response.count <= limit)
                #expect(DNSMessage.parse(response) == .drop)
                #expect(DNSMessage.isResponse(response, to: parsed))
            }
            if let truncated = DNSMessage.truncated(bytes, maxSize: maxSize) {
                #expect(truncated.count <= bytes.count)
            }
            _ = DNSMessage.isResponse(bytes, to: query)
            _ = DNSMessage.id(of: bytes)
            #expect(DNSMessage.replacingID(bytes, with: 0xffff).count == bytes.count)
        }
        // The mutations should leave plenty of readable queries.
        #expect(queries > 100)
    }
}

/// A small deterministic generator (SplitMix64), so a failing input can be found again; the
/// fuzz loops of this target share it.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in `0..<bound` (0 when `bound` is 0).
    mutating func below(_ bound: Int) -> Int {
        bound <= 0 ? 0 : Int(next() % UInt64(bound))
    }
}
