/// The key sequence that detaches `contain attach` from a container with a tty, in docker's
/// `--detach-keys` format: comma-separated keys, each a single character or `ctrl-X` where X is
/// one of `@ a-z [ \ ] ^ _` (or `DEL`). The default is docker's, `ctrl-p,ctrl-q`.
public struct DetachKeys: Equatable, Sendable {
    public static let `default` = DetachKeys(bytes: [0x10, 0x11])

    /// What the terminal sends for them; empty: detaching by keys is off.
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// An empty string turns detaching off (as podman's `--detach-keys ""`).
    public init(parsing text: String) throws {
        guard !text.isEmpty else { self.bytes = []; return }
        var bytes: [UInt8] = []
        for key in text.split(separator: ",", omittingEmptySubsequences: false) {
            if key.utf8.count == 1 {
                bytes.append(key.utf8.first!)
            } else if key == "DEL" {
                bytes.append(0x7f)
            } else if key.hasPrefix("ctrl-"), key.utf8.count == 6, let code = Self.control(key.utf8.last!) {
                bytes.append(code)
            } else {
                throw DetachKeysError(text: text, key: String(key))
            }
        }
        self.bytes = bytes
    }

    /// `ctrl-X`: `@` is 0, `a`-`z` are 1-26, `[ \ ] ^ _` are 27-31 (docker accepts lower case only).
    private static func control(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "@"): return 0
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return character - UInt8(ascii: "a") + 1
        case UInt8(ascii: "["), UInt8(ascii: "\\"), UInt8(ascii: "]"), UInt8(ascii: "^"), UInt8(ascii: "_"):
            return character - UInt8(ascii: "[") + 27
        default: return nil
        }
    }
}

public struct DetachKeysError: Error, Equatable, CustomStringConvertible {
    public let text: String
    public let key: String

    public var description: String {
        "--detach-keys `\(text)`: unknown key `\(key)` (keys are single characters or ctrl-X with X one of @ a-z [ \\ ] ^ _, comma-separated)"
    }
}

/// Finds the detach sequence in what the caller types, across reads. Bytes that might begin the
/// sequence are held back until it is clear they do not; then they are passed on, in order, so
/// a partial match that fails changes nothing for the container.
public struct DetachKeyScanner {
    public let keys: DetachKeys
    /// How many bytes of the sequence the input ends with so far (held back).
    private var matched = 0

    public init(keys: DetachKeys) { self.keys = keys }

    /// `input` scanned: what to send on, and whether the sequence was completed (what follows it
    /// is then dropped: the caller has detached).
    public mutating func scan(_ input: some Collection<UInt8>) -> (forward: [UInt8], detached: Bool) {
        let sequence = keys.bytes
        guard !sequence.isEmpty else { return (Array(input), false) }
        var forward: [UInt8] = []
        forward.reserveCapacity(input.count)
        // Bytes still to look at: held-back bytes re-examined after a failed match come first.
        var queue: [UInt8] = []
        var iterator = input.makeIterator()
        while true {
            let byte: UInt8
            if !queue.isEmpty { byte = queue.removeFirst() } else if let next = iterator.next() { byte = next } else { break }
            if byte == sequence[matched] {
                matched += 1
                if matched == sequence.count {
                    matched = 0
                    return (forward, true)
                }
                continue
            }
            guard matched > 0 else { forward.append(byte); continue }
            // The held-back bytes and this one are not the sequence from the first one on: that
            // one goes through, and the rest may still begin the sequence.
            let held = Array(sequence[0..<matched]) + [byte]
            matched = 0
            forward.append(held[0])
            queue.insert(contentsOf: held[1...], at: 0)
        }
        return (forward, false)
    }

    /// The input ended: what was held back goes through.
    public mutating func flush() -> [UInt8] {
        let held = Array(keys.bytes[0..<matched])
        matched = 0
        return held
    }
}
