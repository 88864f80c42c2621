import ContainRuntime
import Testing
@testable import contain

@Suite struct InspectFormatTests {
    static let document = JSON.object([
        ("Id", .string("abc")),
        ("State", .object([("Status", .string("exited")), ("ExitCode", .number(3)), ("OOMKilled", .bool(true))])),
        ("Config", .object([("Cmd", .array([.string("sh"), .string("-c")]))])),
    ])

    @Test func fieldPathsAreReplacedAndTheRestKept() throws {
        #expect(try InspectCommand.render("{{.State.Status}} {{.State.ExitCode}}", Self.document) == "exited 3")
        #expect(try InspectCommand.render("oom={{ .State.OOMKilled }}", Self.document) == "oom=true")
        #expect(try InspectCommand.render("{{.Config.Cmd}}", Self.document) == #"["sh","-c"]"#)
        #expect(try InspectCommand.render("{{.State}}", Self.document) == #"{"Status":"exited","ExitCode":3,"OOMKilled":true}"#)
        #expect(try InspectCommand.render("plain", Self.document) == "plain")
    }

    @Test func unknownFieldsAndBrokenTemplatesAreErrors() {
        #expect(throws: RunFailure.self) { try InspectCommand.render("{{.State.Nope}}", Self.document) }
        #expect(throws: RunFailure.self) { try InspectCommand.render("{{.State.Status", Self.document) }
        #expect(throws: RunFailure.self) { try InspectCommand.render("{{State}}", Self.document) }
    }
}
