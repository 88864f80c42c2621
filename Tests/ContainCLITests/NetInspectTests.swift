import ContainNetwork
import Testing
@testable import contain

/// `net inspect --json`'s impairment of an endpoint: per direction, `--impair`'s keys with
/// tc's units, null when unimpaired.
@Suite struct NetInspectTests {
    @Test func impairmentIsStructuredPerDirection() throws {
        let rate = try Impairment(parsing: "rate=8mbit")
        #expect(NetworkReport.impairment(rate).text == #"{"rate":"8mbit"}"#)
        let netem = try Impairment(parsing: "loss=1.5%,delay=40ms,jitter=5ms,limit=100")
        #expect(NetworkReport.impairment(netem).text == #"{"delay":"40ms","jitter":"5ms","loss":"1.5%","limit":"100"}"#)
        #expect(NetworkReport.impairment(nil).text == "null")
    }
}
