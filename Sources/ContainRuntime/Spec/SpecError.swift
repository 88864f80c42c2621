/// Input the user gave that cannot be used. Printed as one line; the command exits 125.
public struct SpecError: Error, Equatable, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
