import ContainSystem
import Testing

/// splitASCII gives what the standard library's split gives, for strings, for slices that do
/// not start at the string's start, with either treatment of empty pieces, and around text that
/// is not ASCII.
@Suite struct ASCIISplitTests {
    static let samples = ["", "\n", "a", "a\n", "\na", "a\nb", "a\n\nb\n", "\n\n", "ünï\ncødé\n\n🙂\tx\n", "10.0.0.2\tabc\t-\t\t-\n#x"]

    @Test(arguments: samples) func matchesTheStandardSplit(_ text: String) {
        for separator: Unicode.Scalar in ["\n", "\t"] {
            let character = Character(separator)
            for omitting in [true, false] {
                #expect(text.splitASCII(separator, omittingEmptySubsequences: omitting)
                        == text.split(separator: character, omittingEmptySubsequences: omitting))
                // A slice: its pieces are the slice's, indices into the same string.
                let slice = text.dropFirst(1).dropLast(1)
                #expect(slice.splitASCII(separator, omittingEmptySubsequences: omitting)
                        == slice.split(separator: character, omittingEmptySubsequences: omitting))
            }
        }
    }
}
