import Testing
@testable import ContainRuntime

/// `update`'s merge: what is given replaces, what is not stays, -1 lifts a limit.
@Suite struct ContainerUpdateTests {
    typealias Resources = ContainerConfig.Linux.Resources

    @Test func givenFieldsReplaceAndTheRestStays() {
        let current = Resources(memory: .init(limit: 64 << 20, reservation: 32 << 20), cpu: .init(quota: 50_000, period: 100_000),
                                pids: .init(limit: 40))
        let merged = ContainerUpdate.merge(current, Resources(memory: .init(limit: 128 << 20), cpu: .init(shares: 512)))
        #expect(merged.memory == .init(limit: 128 << 20, reservation: 32 << 20))
        #expect(merged.cpu == .init(quota: 50_000, period: 100_000, shares: 512))
        #expect(merged.pids == .init(limit: 40))
        #expect(ContainerUpdate.merge(current, Resources()) == current)
    }

    @Test func minusOneLiftsALimit() {
        let current = Resources(memory: .init(limit: 64 << 20), pids: .init(limit: 40))
        let merged = ContainerUpdate.merge(current, Resources(memory: .init(limit: -1), pids: .init(limit: -1)))
        #expect(merged.memory?.limit == nil && merged.pids == nil)
    }
}
