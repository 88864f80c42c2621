import Testing
@testable import ContainRuntime

@Suite struct RestartPolicyTests {
    @Test func parsesDockersPolicies() throws {
        #expect(try RestartPolicy(parsing: "no") == .no)
        #expect(try RestartPolicy(parsing: "always") == .always)
        #expect(try RestartPolicy(parsing: "unless-stopped") == .unlessStopped)
        #expect(try RestartPolicy(parsing: "on-failure") == .onFailure(maximum: nil))
        #expect(try RestartPolicy(parsing: "on-failure:3") == .onFailure(maximum: 3))
        #expect(try RestartPolicy(parsing: "on-failure:3").description == "on-failure:3")
        for bad in ["sometimes", "on-failure:", "on-failure:-1", "on-failure:x", "always:2"] {
            #expect(throws: SpecError.self, "\(bad)") { try RestartPolicy(parsing: bad) }
        }
    }

    @Test func decidesAsDockerDoes() {
        #expect(!RestartPolicy.no.restarts(exitCode: 1, restartsSoFar: 0, stoppedByUser: false))
        #expect(RestartPolicy.always.restarts(exitCode: 0, restartsSoFar: 99, stoppedByUser: false))
        #expect(!RestartPolicy.always.restarts(exitCode: 137, restartsSoFar: 0, stoppedByUser: true))
        let twice = RestartPolicy.onFailure(maximum: 2)
        #expect(!twice.restarts(exitCode: 0, restartsSoFar: 0, stoppedByUser: false))
        #expect(twice.restarts(exitCode: 1, restartsSoFar: 1, stoppedByUser: false))
        #expect(!twice.restarts(exitCode: 1, restartsSoFar: 2, stoppedByUser: false))
    }

    @Test func backoffDoublesToAMinuteAndResetsAfterALongRun() {
        #expect(RestartPolicy.delayMilliseconds(previous: nil, ranForSeconds: 0) == 100)
        #expect(RestartPolicy.delayMilliseconds(previous: 100, ranForSeconds: 1) == 200)
        #expect(RestartPolicy.delayMilliseconds(previous: 40_000, ranForSeconds: 1) == 60_000)
        #expect(RestartPolicy.delayMilliseconds(previous: 60_000, ranForSeconds: 10) == 100)
    }
}
