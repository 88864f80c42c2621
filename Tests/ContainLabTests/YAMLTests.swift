@testable import ContainLab
import Testing

/// YAML through libyaml: the tree, its marks, and every error a lab file can meet.
@Suite struct YAMLTests {
    private func parse(_ text: String) throws -> YAMLNode {
        try #require(try YAML.parse(text))
    }

    private func error(_ text: String) -> YAMLError? {
        do {
            _ = try YAML.parse(text)
            return nil
        } catch {
            return error
        }
    }

    private func scalar(_ text: String, _ line: Int, _ column: Int, plain: Bool = true) -> YAMLNode {
        YAMLNode(kind: .scalar(text), mark: YAMLMark(line: line, column: column), isPlain: plain)
    }

    @Test func plainAndQuotedScalars() throws {
        let root = try parse("""
            plain: 10
            single: '10'
            double: "a\\tb"
            empty:
            tilde: ~
            spaced:   keeps  inner  spaces
            """)
        guard case .mapping(let pairs) = root.kind else { Issue.record("not a mapping: \(root)"); return }
        #expect(pairs.map(\.key) == [scalar("plain", 1, 1), scalar("single", 2, 1), scalar("double", 3, 1),
                                     scalar("empty", 4, 1), scalar("tilde", 5, 1), scalar("spaced", 6, 1)])
        #expect(pairs.map(\.value) == [scalar("10", 1, 8), scalar("10", 2, 9, plain: false),
                                       scalar("a\tb", 3, 9, plain: false), scalar("", 4, 7),
                                       scalar("~", 5, 8), scalar("keeps  inner  spaces", 6, 11)])
        #expect(root.mark == YAMLMark(line: 1, column: 1))
        #expect(root.isPlain == false)
    }

    @Test func aScalarAlone() throws {
        #expect(try parse("hello") == scalar("hello", 1, 1))
        #expect(try parse("\"\"") == scalar("", 1, 1, plain: false))
        // A document marker with nothing after it: an empty plain scalar (null).
        #expect(try parse("---\n") == scalar("", 2, 1))
    }

    @Test func nestedMappingsAndSequencesWithTheirMarks() throws {
        let root = try parse("""
            nodes:
              a:
                networks: [lan, wan]
                exec:
                  - ip link
                  - "echo hi"
            links:
            - [a:eth1, b:eth1]
            """)
        let expected = YAMLNode(kind: .mapping([
            YAMLPair(key: scalar("nodes", 1, 1), value: YAMLNode(kind: .mapping([
                YAMLPair(key: scalar("a", 2, 3), value: YAMLNode(kind: .mapping([
                    YAMLPair(key: scalar("networks", 3, 5),
                             value: YAMLNode(kind: .sequence([scalar("lan", 3, 16), scalar("wan", 3, 21)]),
                                             mark: YAMLMark(line: 3, column: 15), isPlain: false)),
                    YAMLPair(key: scalar("exec", 4, 5),
                             value: YAMLNode(kind: .sequence([scalar("ip link", 5, 9), scalar("echo hi", 6, 9, plain: false)]),
                                             mark: YAMLMark(line: 5, column: 7), isPlain: false)),
                ]), mark: YAMLMark(line: 3, column: 5), isPlain: false)),
            ]), mark: YAMLMark(line: 2, column: 3), isPlain: false)),
            YAMLPair(key: scalar("links", 7, 1), value: YAMLNode(kind: .sequence([
                YAMLNode(kind: .sequence([scalar("a:eth1", 8, 4), scalar("b:eth1", 8, 12)]),
                         mark: YAMLMark(line: 8, column: 3), isPlain: false),
            ]), mark: YAMLMark(line: 8, column: 1), isPlain: false)),
        ]), mark: YAMLMark(line: 1, column: 1), isPlain: false)
        #expect(root == expected)
    }

    @Test func flowStyle() throws {
        let root = try parse("{name: lab, nodes: [a, 'b'], empty: {}, none: []}")
        let expected = YAMLNode(kind: .mapping([
            YAMLPair(key: scalar("name", 1, 2), value: scalar("lab", 1, 8)),
            YAMLPair(key: scalar("nodes", 1, 13),
                     value: YAMLNode(kind: .sequence([scalar("a", 1, 21), scalar("b", 1, 24, plain: false)]),
                                     mark: YAMLMark(line: 1, column: 20), isPlain: false)),
            YAMLPair(key: scalar("empty", 1, 30),
                     value: YAMLNode(kind: .mapping([]), mark: YAMLMark(line: 1, column: 37), isPlain: false)),
            YAMLPair(key: scalar("none", 1, 41),
                     value: YAMLNode(kind: .sequence([]), mark: YAMLMark(line: 1, column: 47), isPlain: false)),
        ]), mark: YAMLMark(line: 1, column: 1), isPlain: false)
        #expect(root == expected)
    }

    @Test func blockScalars() throws {
        let root = try parse("""
            literal: |
              ip link set eth1 up
                indented
              last
            folded: >-
              one
              two
            """)
        guard case .mapping(let pairs) = root.kind else { Issue.record("not a mapping: \(root)"); return }
        #expect(pairs.map(\.value) == [scalar("ip link set eth1 up\n  indented\nlast\n", 1, 10, plain: false),
                                       scalar("one two", 5, 9, plain: false)])
    }

    @Test func emptyDocumentsAreNil() throws {
        #expect(try YAML.parse("") == nil)
        #expect(try YAML.parse("\n\n   \n") == nil)
        #expect(try YAML.parse("# a lab\n  # nothing yet\n") == nil)
        #expect(try YAML.parse(bytes: []) == nil)
    }

    @Test func syntaxErrorsNameLineAndColumn() {
        #expect(error("a: 1\nb: 2\nc: d: e\n")
                == YAMLError(message: "mapping values are not allowed in this context", mark: YAMLMark(line: 3, column: 5)))
        #expect(error("nodes: [a, b\n")?.description
                == "line 2, column 1: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 8)")
        #expect(error("a: 1\n b: 2\n")?.description == "line 2, column 3: mapping values are not allowed in this context")
        #expect(error("name: \"open\n")?.description
                == "line 2, column 1: found unexpected end of stream (while scanning a quoted scalar at line 1, column 7)")
        #expect(error("a: *missing\n") == YAMLError(message: "found undefined alias", mark: YAMLMark(line: 1, column: 4)))
        #expect(error("a: &x 1\nb: &x 2\n")?.description == "line 2, column 4: duplicate anchor (first at line 1, column 4)")
    }

    @Test func tabsCannotIndent() {
        #expect(error("nodes:\n\ta: 1\n")?.description
                == "line 2, column 1: found character that cannot start any token (while scanning for the next token at line 2, column 1)")
    }

    @Test func duplicateKeys() {
        #expect(error("name: a\nnodes: {}\nname: b\n") == YAMLError(message: "duplicate key `name`", mark: YAMLMark(line: 3, column: 1)))
        #expect(error("n:\n  a: 1\n  'a': 2\n") == YAMLError(message: "duplicate key `a`", mark: YAMLMark(line: 3, column: 3)))
        #expect(error("{x: 1, y: 2, x: 3}") == YAMLError(message: "duplicate key `x`", mark: YAMLMark(line: 1, column: 14)))
        // The same key in two mappings is no duplicate.
        #expect(error("a: {x: 1}\nb: {x: 1}\n") == nil)
    }

    @Test func keysMustBeScalars() {
        #expect(error("? [a, b]\n: c\n") == YAMLError(message: "a mapping key must be a plain value", mark: YAMLMark(line: 1, column: 3)))
        #expect(error("{a: 1}: 2\n")?.message == "a mapping key must be a plain value")
    }

    @Test func oneDocumentOnly() {
        #expect(error("a: 1\n---\nb: 2\n") == YAMLError(message: "a lab file holds one YAML document", mark: YAMLMark(line: 2, column: 1)))
        #expect(error("--- a\n...\n--- b\n") == YAMLError(message: "a lab file holds one YAML document", mark: YAMLMark(line: 3, column: 1)))
        // An end marker and comments after the document are fine.
        #expect(error("a: 1\n...\n# end\n") == nil)
        // A syntax error in the second document is still reported as one.
        #expect(error("a: 1\n---\nb: [\n")?.message.hasPrefix("did not find expected node content") == true)
    }

    @Test func aliasesAreExpanded() throws {
        let root = try parse("""
            base: &base
              image: alpine
              tags: [x]
            node: *base
            """)
        guard case .mapping(let pairs) = root.kind, pairs.count == 2 else { Issue.record("\(root)"); return }
        #expect(pairs[1].value == pairs[0].value)
        guard case .mapping(let inner) = pairs[1].value.kind else { Issue.record("\(root)"); return }
        #expect(inner.map(\.key) == [scalar("image", 2, 3), scalar("tags", 3, 3)])
        // `<<` is not merged: YAML 1.1's merge key is a plain key here.
        guard case .mapping(let merged) = try parse("a: &a {x: 1}\nb: {<<: *a}\n").kind,
              case .mapping(let b) = merged[1].value.kind else { Issue.record("not mappings"); return }
        #expect(b.map(\.key.kind) == [.scalar("<<")])
    }

    @Test func billionLaughsStopsAtTheCap() {
        var text = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        for level in 1...9 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        #expect(error(text) == YAMLError(message: "the document expands to more than 100000 nodes (aliases)"))
        #expect(error(text)?.description == "the document expands to more than 100000 nodes (aliases)")
        // Just under the cap is fine: 1 + 10 + 100 + 1000 + 10000 + ... with four levels.
        #expect(throws: Never.self) { try YAML.parse("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n") }
    }

    @Test func aliasesCannotContainThemselves() {
        #expect(error("&a [*a]") == YAMLError(message: "an alias refers to a node that contains it", mark: YAMLMark(line: 1, column: 1)))
    }

    @Test func nestingIsBounded() {
        #expect(throws: Never.self) { try YAML.parse(String(repeating: "[", count: 99) + String(repeating: "]", count: 99)) }
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(error(deep) == YAMLError(message: "the document nests more than 100 levels deep", mark: YAMLMark(line: 1, column: 101)))
    }

    @Test func textThatIsNotUTF8() throws {
        do {
            _ = try YAML.parse(bytes: Array("name: caf".utf8) + [0xE9] + Array(" au lait\n".utf8))
            Issue.record("parsed")
        } catch {
            // libyaml places it at the octet that cannot continue the character: the space.
            #expect(error == YAMLError(message: "invalid trailing UTF-8 octet (#x20)", mark: YAMLMark(line: 1, column: 11)))
        }
        do {
            _ = try YAML.parse(bytes: Array("name: caf".utf8) + [0xC3])
            Issue.record("parsed")
        } catch {
            #expect(error == YAMLError(message: "incomplete UTF-8 octet sequence", mark: YAMLMark(line: 1, column: 10)))
        }
        do {
            _ = try YAML.parse(bytes: Array("a: ok\nb: é\n".utf8) + [0xFF])
            Issue.record("parsed")
        } catch {
            #expect(error == YAMLError(message: "invalid leading UTF-8 octet (#xFF)", mark: YAMLMark(line: 3, column: 1)))
        }
        #expect(error("a: \u{1}") == YAMLError(message: "control characters are not allowed (#x1)", mark: YAMLMark(line: 1, column: 4)))
        // Valid UTF-8 beyond ASCII is kept as written, and columns count characters.
        #expect(try parse("é: ü") == YAMLNode(kind: .mapping([YAMLPair(key: scalar("é", 1, 1), value: scalar("ü", 1, 4))]),
                                                 mark: YAMLMark(line: 1, column: 1), isPlain: false))
    }
}
