import Testing
@testable import ContainRuntime

@Suite struct ResourceLimitsTests {
    @Test func cpuQuotaIsMicrosecondsPerTenthOfASecond() throws {
        let q = try CPUQuota(quotaText: "50000")
        #expect(q.quota == 50000)
        #expect(q.period == 100_000)
        #expect(q.cpuMax == "50000 100000")
        #expect(q.description == "50000/100000")
        #expect(try CPUQuota(quotaText: "250000").cpuMax == "250000 100000")
    }

    @Test(arguments: ["0", "999", "-5", "abc", "", "1.5", "50000us"])
    func cpuQuotaRejectsBadValues(text: String) {
        #expect(throws: SpecError.self) { try CPUQuota(quotaText: text) }
    }

    @Test func cpusIsDockersForm() throws {
        #expect(try CPUQuota(cpusText: "1.5", availableCPUs: 2).quota == 150_000)
        #expect(try CPUQuota(cpusText: "0.5", availableCPUs: 2).cpuMax == "50000 100000")
        #expect(try CPUQuota(cpusText: "0.01", availableCPUs: 1).quota == 1000)
        #expect(throws: SpecError.self) { try CPUQuota(cpusText: "3", availableCPUs: 2) }
        #expect(throws: SpecError.self) { try CPUQuota(cpusText: "0.001", availableCPUs: 2) }
        #expect(throws: SpecError.self) { try CPUQuota(cpusText: "nan", availableCPUs: 2) }
        #expect(throws: SpecError.self) { try CPUQuota(cpusText: "-1", availableCPUs: 2) }
    }

    @Test func pids() throws {
        #expect(try ResourceLimits.pids("64") == 64)
        #expect(throws: SpecError("invalid --pids `0`: expected a whole number of processes, at least 1")) {
            try ResourceLimits.pids("0")
        }
        #expect(throws: SpecError.self) { try ResourceLimits.pids("-3") }
        #expect(throws: SpecError.self) { try ResourceLimits.pids("ten") }
    }

    @Test func summaryForTheProgressLine() throws {
        let limits = ResourceLimits(memory: ByteSize(bytes: 64 << 20), cpu: try CPUQuota(quotaText: "50000"), pids: 64)
        #expect(limits.summary == "memory=64M cpu=50000/100000 pids=64")
        #expect(ResourceLimits().isEmpty)
        #expect(ResourceLimits(pids: 3).summary == "pids=3")
    }
}
