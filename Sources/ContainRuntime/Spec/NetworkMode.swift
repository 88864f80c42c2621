/// `--net`: where the container's network comes from.
public enum NetworkMode: Equatable, Sendable, CustomStringConvertible {
    /// Its own network namespace with only `lo`, up.
    case none
    /// The host's network namespace, shared.
    case host
    /// The default bridge network, or a named one (the networking issue wires these).
    case bridge(network: String)
    /// `container:NAME`: the network namespace of another, running container (a pod's sidecar:
    /// its interfaces, addresses and `localhost` are the same). Given as the user named it;
    /// resolved to that container's init when this one is created.
    case container(String)

    public static let defaultBridgeNetwork = "contain"

    public init(parsing text: String) throws(SpecError) {
        switch text {
        case "none": self = .none
        case "host": self = .host
        case "bridge": self = .bridge(network: Self.defaultBridgeNetwork)
        default:
            if text.hasPrefix("container:") {
                let reference = String(text.dropFirst("container:".count))
                guard !reference.isEmpty, !reference.contains("/"), !reference.hasPrefix(".") else {
                    throw SpecError("invalid --net `\(text)`: expected container:NAME or container:ID")
                }
                self = .container(reference)
                return
            }
            guard !text.isEmpty, text.utf8.count <= 64,
                  text.utf8.allSatisfy({ c in (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e }),
                  text.first != "-" else {
                throw SpecError("invalid --net `\(text)`: expected none, host, bridge or a network name")
            }
            self = .bridge(network: text)
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .host: return "host"
        case .bridge(let network): return network == Self.defaultBridgeNetwork ? "bridge" : network
        case .container(let reference): return "container:" + reference
        }
    }

    /// The bridge network's name, nil for the other modes.
    public var bridgeName: String? {
        if case .bridge(let name) = self { return name }
        return nil
    }

    /// Whether the container gets a network namespace of its own.
    public var ownsNamespace: Bool {
        switch self {
        case .host, .container: return false
        case .none, .bridge: return true
        }
    }
}
