import Testing
@testable import contain

@Suite struct RowFormatTests {
    let rows: [JSON] = [
        .object([("Name", .string("web")), ("CPUPerc", .string("1.50%")), ("PIDs", .string("3"))]),
        .object([("Name", .string("database")), ("CPUPerc", .string("0.00%")), ("PIDs", .string("12"))]),
    ]

    @Test func formatsAsDockerReadsThem() throws {
        #expect(RowFormat(nil) == .table)
        #expect(RowFormat("table") == .table)
        #expect(RowFormat("json") == .json)
        #expect(RowFormat("{{.Name}}\\t{{.PIDs}}") == .template("{{.Name}}\t{{.PIDs}}"))
        #expect(RowFormat("table {{.Name}}") == .tableTemplate("{{.Name}}"))
    }

    @Test func rendersRowsTemplatesAndAlignedTables() throws {
        #expect(try RowFormat("table").render(rows, headers: [:]) == nil)
        #expect(try RowFormat("{{.Name}}={{.PIDs}}").render(rows, headers: [:]) == "web=3\ndatabase=12\n")
        #expect(try RowFormat("json").render(rows, headers: [:])
                == "{\"Name\":\"web\",\"CPUPerc\":\"1.50%\",\"PIDs\":\"3\"}\n{\"Name\":\"database\",\"CPUPerc\":\"0.00%\",\"PIDs\":\"12\"}\n")
        #expect(try RowFormat("table {{.Name}}\\t{{.CPUPerc}}").render(rows, headers: ["CPUPerc": "CPU %"])
                == "NAME       CPU %\nweb        1.50%\ndatabase   0.00%\n")
        #expect(throws: (any Error).self) { try RowFormat("{{.Nope}}").render(rows, headers: [:]) }
    }

    @Test func rates() {
        #expect(StatsCommand.bitRate(0) == "0bps")
        #expect(StatsCommand.bitRate(1500) == "1.5kbps")
        #expect(StatsCommand.bitRate(12_000_000) == "12Mbps")
        #expect(StatsCommand.bitRate(123_456_789) == "123Mbps")
        #expect(12.345.formattedPercent == "12.35%" || 12.345.formattedPercent == "12.34%")
    }
}
