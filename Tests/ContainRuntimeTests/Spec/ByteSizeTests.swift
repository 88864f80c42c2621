import Testing
@testable import ContainRuntime

@Suite struct ByteSizeTests {
    static let sizes: [(String, UInt64)] = [
        ("64M", 64 << 20), ("1G", 1 << 30), ("512K", 512 << 10), ("1048576", 1_048_576),
        ("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10),
        ("256MB", 256 << 20), ("2GB", 2 << 30), ("8KiB", 8 << 10), ("3MiB", 3 << 20), ("1GiB", 1 << 30),
        ("1.5G", 3 << 29), ("0.5M", 512 << 10), ("100b", 100), ("1T", 1 << 40),
    ]

    @Test(arguments: sizes)
    func parsesSizesAsPeopleTypeThem(text: String, bytes: UInt64) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    @Test(arguments: ["12Q", "-1", "", "M", "0", "0M", "1.M", ".5M", "1 M", "64MM", "1e6", "+5",
                      "99999999999999999999", "17000000T", "½M", "64M "])
    func rejectsWhatIsNotASize(text: String) {
        #expect(throws: SpecError.self) { try ByteSize(parsing: text) }
    }

    @Test func formatsExactlyAndRounded() {
        #expect(ByteSize(bytes: 64 << 20).formatted() == "64M")
        #expect(ByteSize(bytes: 1536 << 10).formatted() == "1536K")
        #expect(ByteSize(bytes: 1000).formatted() == "1000")
        #expect(ByteSize(bytes: 3_250_000).formatted(exact: false) == "3.1M")
        #expect(ByteSize(bytes: 2 << 30).formatted(exact: false) == "2G")
        #expect(ByteSize(bytes: 900).formatted(exact: false) == "900")
    }

    @Test func memoryLimitNamesTheFlagAndHasAFloor() throws {
        #expect(throws: SpecError("invalid --memory `12Q`: expected a positive number with an optional unit (K, M, G, T), e.g. 64M")) {
            try ResourceLimits.memory("12Q")
        }
        #expect(throws: SpecError("invalid --memory `1M`: the minimum is 6M")) { try ResourceLimits.memory("1M") }
        #expect(try ResourceLimits.memory("6M").bytes == 6 << 20)
    }
}
