import Testing
@testable import contain

@Suite struct CompletionAndManPageTests {
    @Test func theManPageHasEveryVisibleCommandAndNoStrayRequests() {
        let page = ManPageCommand.page()
        #expect(page.hasPrefix(".TH CONTAIN 1"))
        for command in ContainCommand.configuration.subcommands where command.configuration.shouldDisplay {
            #expect(page.contains(".SH \"CONTAIN \(command.configuration.commandName!.uppercased())\""), "\(command)")
        }
        #expect(!page.contains("__manpage"))
        // Every line that starts a roff request is one of ours.
        for line in page.split(separator: "\n") where line.hasPrefix(".") {
            #expect([".TH", ".SH", ".B ", ".nf", ".fi"].contains { line.hasPrefix($0) }, "\(line)")
        }
    }

    @Test func unknownCommandsAreNamed() {
        #expect(ContainCommand.knows("ps") && ContainCommand.knows("list") && ContainCommand.knows("delete"))
        #expect(ContainCommand.knows("help") && ContainCommand.knows("completion"))
        #expect(!ContainCommand.knows("inspectx"))
    }

    @Test func completionScriptsExistForEachShell() throws {
        for shell in ["bash", "zsh", "fish"] {
            _ = try CompletionCommand.parse([shell])
            #expect(!ContainCommand.completionScript(for: .init(rawValue: shell)!).isEmpty)
        }
    }
}
