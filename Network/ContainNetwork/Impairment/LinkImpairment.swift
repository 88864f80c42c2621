import CLibmnl
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// Impairments on links, through rtnetlink in the namespace of the transport's socket: the
/// root qdisc of the link is netem (or tbf for a rate alone), as `tc qdisc replace dev DEV root`
/// would make it, never through `tc`.
extension Rtnetlink {
    /// The message when netem is missing: this machine's kernel is built without it.
    public static let noNetem = "this kernel has no netem (CONFIG_NET_SCH_NETEM is not set): delay, jitter, loss, duplicate, corrupt and reorder cannot be applied here; --rate alone works (tbf)"

    /// Makes `impairment` the root qdisc of link `index`, in place of any impairment it had
    /// (a qdisc of another kind cannot be replaced in place: it is deleted first, and put back
    /// if the new one cannot be made, so a kernel without netem changes nothing).
    public func impair(index: Int32, _ impairment: Impairment) throws {
        let current = try rootQdisc(index: index)
        let kind = impairment.needsNetem ? "netem" : "tbf"
        var removed: Impairment?
        if let current, current.kind != kind {
            try clearImpairment(index: index)
            removed = current.impairment
        }
        let request: [UInt8]
        if impairment.needsNetem {
            request = QdiscRequests.replaceNetem(index: index, impairment, sequence: transport.nextSequence())
        } else if let rate = impairment.rate {
            request = QdiscRequests.replaceTbf(index: index, rate: rate.bitsPerSecond, sequence: transport.nextSequence())
        } else {
            return
        }
        do {
            _ = try transport.execute(request, operation: "netlink: set \(kind) on link \(index)")
        } catch {
            if let removed { try? impair(index: index, removed) }
            if let e = error as? SystemError, kind == "netem", e.errno == ENOENT || e.errno == EOPNOTSUPP {
                throw NetworkError.invalid(Self.noNetem)
            }
            throw error
        }
    }

    /// Back to the link's default qdisc; a link without an impairment is fine.
    public func clearImpairment(index: Int32) throws {
        do {
            _ = try transport.execute(QdiscRequests.deleteRoot(index: index, sequence: transport.nextSequence()),
                                      operation: "netlink: delete the root qdisc of link \(index)")
        } catch let error as SystemError where error.errno == ENOENT || error.errno == EINVAL {}
    }

    /// The impairment link `index` has (nil: none, or a root qdisc that is no impairment).
    public func impairment(index: Int32) throws -> Impairment? {
        try rootQdisc(index: index)?.impairment
    }

    private func rootQdisc(index: Int32) throws -> QdiscInfo? {
        try transport.execute(QdiscRequests.dump(sequence: transport.nextSequence()), operation: "netlink: list qdiscs")
            .compactMap(Replies.qdisc).first { $0.index == index && $0.isRoot && ($0.kind == "netem" || $0.kind == "tbf") }
    }
}
