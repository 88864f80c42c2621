import CLibnftnl
#if canImport(Glibc)
import Glibc
#endif

/// Encodes contain's nf_tables transactions with libnftnl: a whole FirewallPlan (`replace`), one
/// container's published ports in or out (`add`, `remove`), and the look-ups around them. The
/// kernel applies a batch all or nothing. Every message but the batch delimiters asks for an
/// acknowledgement.
public enum NftablesBatch {
    /// contain's table by family: `inet contain`, or `ip contain`, the IPv4-only table of
    /// versions before it became inet, which installing the current one removes.
    public enum Table: CaseIterable, Sendable, CustomStringConvertible {
        case current, legacy

        var family: UInt16 { UInt16(self == .current ? NFPROTO_INET : NFPROTO_IPV4) }
        public var description: String { (self == .current ? "inet " : "ip ") + FirewallPlan.table }
    }

    public struct Encoded: Sendable {
        public var bytes: [UInt8]
        /// How many messages ask for an acknowledgement (all but begin and end).
        public var acknowledgements: Int
    }

    /// The whole table: batch begin, add table, delete table (so the add-then-delete clears
    /// whatever was there, and works when nothing was), add table, chains, rules, batch end.
    /// `deletingLegacyTable`: the host still has `ip contain` (deleting a table that is not
    /// there fails the whole batch, so the caller asks first).
    public static func replace(with plan: FirewallPlan, deletingLegacyTable: Bool = false, firstSequence: UInt32) -> Encoded {
        var writer = BatchWriter(sequence: firstSequence)
        writer.begin()
        if deletingLegacyTable { writer.table(NFT_MSG_DELTABLE, .legacy) }
        writer.table(NFT_MSG_NEWTABLE, .current)
        writer.table(NFT_MSG_DELTABLE, .current)
        writer.table(NFT_MSG_NEWTABLE, .current)
        for chain in plan.chains { writer.chain(chain) }
        for rule in plan.rules { writer.rule(rule) }
        writer.end()
        return Encoded(bytes: writer.bytes, acknowledgements: writer.acknowledged)
    }

    /// One container's ports into the installed table, nothing else touched: its chain, its
    /// rules, and the jump to them at the end of `ports`. The chain must be new (EEXIST and
    /// nothing added otherwise, rather than rules added twice); ENOENT: the table is not there.
    public static func add(_ ports: FirewallPlan.ContainerPorts, firstSequence: UInt32) -> Encoded {
        var writer = BatchWriter(sequence: firstSequence)
        writer.begin()
        writer.chain(FirewallPlan.Chain(name: ports.chain, hook: nil), exclusive: true)
        for rule in ports.rules + [ports.jump] { writer.rule(rule) }
        writer.end()
        return Encoded(bytes: writer.bytes, acknowledgements: writer.acknowledged)
    }

    /// One container's ports out: the rules of `ports` that jump to its chain (`jumps`, their
    /// handles, found in a dump of `ports`: handles(ofJumpsTo:in:)), then the chain's rules and
    /// the chain. ENOENT, and nothing removed, when any of them is gone already.
    public static func remove(chain: String, jumps: [UInt64], firstSequence: UInt32) -> Encoded {
        var writer = BatchWriter(sequence: firstSequence)
        writer.begin()
        for handle in jumps { writer.deleteRules(chain: FirewallPlan.portsChain, handle: handle) }
        writer.deleteRules(chain: chain)
        writer.deleteChain(chain)
        writer.end()
        return Encoded(bytes: writer.bytes, acknowledgements: writer.acknowledged)
    }

    /// Removes `tables` (ENOENT, and nothing removed, when one is not there).
    public static func deleteTable(_ tables: [Table] = [.current], firstSequence: UInt32) -> Encoded {
        var writer = BatchWriter(sequence: firstSequence)
        writer.begin()
        for table in tables { writer.table(NFT_MSG_DELTABLE, table) }
        writer.end()
        return Encoded(bytes: writer.bytes, acknowledgements: writer.acknowledged)
    }

    /// One request (not a batch): `type` with `flags`, its payload written by `build`.
    private static func request(_ type: nf_tables_msg_types, family: UInt16, flags: Int32, sequence: UInt32,
                                _ build: (UnsafeMutablePointer<nlmsghdr>) -> Void = { _ in }) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096)
        return buffer.withUnsafeMutableBytes { raw in
            let nlh = nftnl_nlmsg_build_hdr(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt16(type.rawValue), family,
                                            UInt16(flags), sequence)!
            build(nlh)
            return Array(raw[0..<Int(nlh.pointee.nlmsg_len)])
        }
    }

    /// NFT_MSG_GETCHAIN dump of every chain of every table, all families.
    public static func dumpChains(sequence: UInt32) -> [UInt8] {
        request(NFT_MSG_GETCHAIN, family: UInt16(NFPROTO_UNSPEC), flags: NLM_F_DUMP, sequence: sequence)
    }

    /// NFT_MSG_GETRULE dump of the rules of one chain of contain's table (none when the chain
    /// is not there).
    public static func dumpRules(chain name: String, sequence: UInt32) -> [UInt8] {
        request(NFT_MSG_GETRULE, family: Table.current.family, flags: NLM_F_DUMP, sequence: sequence) { nlh in
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), FirewallPlan.table)
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), name)
            nftnl_rule_nlmsg_build_payload(nlh, rule)
        }
    }

    /// NFT_MSG_GETTABLE for contain's table of `table`'s family (ENOENT when it is not there).
    public static func getTable(_ table: Table, sequence: UInt32) -> [UInt8] {
        request(NFT_MSG_GETTABLE, family: table.family, flags: NLM_F_ACK, sequence: sequence) { nlh in
            let t = nftnl_table_alloc()!
            defer { nftnl_table_free(t) }
            nftnl_table_set_str(t, UInt16(NFTNL_TABLE_NAME.rawValue), FirewallPlan.table)
            nftnl_table_nlmsg_build_payload(nlh, t)
        }
    }

    /// NFT_MSG_GETCHAIN for one chain of contain's table (ENOENT when it is not there).
    public static func getChain(_ name: String, sequence: UInt32) -> [UInt8] {
        request(NFT_MSG_GETCHAIN, family: Table.current.family, flags: NLM_F_ACK, sequence: sequence) { nlh in
            let chain = nftnl_chain_alloc()!
            defer { nftnl_chain_free(chain) }
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), FirewallPlan.table)
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            nftnl_chain_nlmsg_build_payload(nlh, chain)
        }
    }

    /// The handles of the rules in `replies` (a dump of `ports`: dumpRules) whose verdict is a
    /// jump to `chain`. A rule of another table or chain is skipped, should a kernel not filter.
    static func handles(ofJumpsTo chain: String, in replies: [[UInt8]]) -> [UInt64] {
        var handles: [UInt64] = []
        for reply in replies {
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            let parsed = reply.withUnsafeBytes { raw in
                nftnl_rule_nlmsg_parse(raw.baseAddress!.assumingMemoryBound(to: nlmsghdr.self), rule)
            }
            func text(_ attribute: nftnl_rule_attr) -> String? {
                nftnl_rule_is_set(rule, UInt16(attribute.rawValue)) ? String(cString: nftnl_rule_get_str(rule, UInt16(attribute.rawValue))) : nil
            }
            guard parsed >= 0, nftnl_rule_is_set(rule, UInt16(NFTNL_RULE_HANDLE.rawValue)),
                  nftnl_rule_get_u32(rule, UInt16(NFTNL_RULE_FAMILY.rawValue)) == UInt32(Table.current.family),
                  text(NFTNL_RULE_TABLE) == FirewallPlan.table, text(NFTNL_RULE_CHAIN) == FirewallPlan.portsChain else { continue }
            let expressions = nftnl_expr_iter_create(rule)!
            defer { nftnl_expr_iter_destroy(expressions) }
            while let expression = nftnl_expr_iter_next(expressions) {
                guard String(cString: nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_NAME))) == "immediate",
                      nftnl_expr_is_set(expression, UInt16(NFTNL_EXPR_IMM_CHAIN)),
                      String(cString: nftnl_expr_get_str(expression, UInt16(NFTNL_EXPR_IMM_CHAIN))) == chain else { continue }
                handles.append(nftnl_rule_get_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue)))
                break
            }
        }
        return handles
    }
}

/// Appends nf_tables messages to a byte buffer, one sequence number each.
struct BatchWriter {
    private(set) var bytes: [UInt8] = []
    private(set) var acknowledged = 0
    private var sequence: UInt32

    init(sequence: UInt32) { self.sequence = sequence }

    private mutating func append(_ build: (UnsafeMutablePointer<CChar>, UInt32) -> UnsafeMutablePointer<nlmsghdr>?) {
        var buffer = [UInt8](repeating: 0, count: 8192)
        let seq = sequence
        sequence &+= 1
        let message = buffer.withUnsafeMutableBytes { raw -> [UInt8] in
            let nlh = build(raw.baseAddress!.assumingMemoryBound(to: CChar.self), seq)!
            return Array(raw[0..<Int(nlh.pointee.nlmsg_len)])
        }
        bytes += message
        // Every message is NLMSG_ALIGN'd already (libmnl pads attributes), so they just follow.
    }

    mutating func begin() { append { buf, seq in nftnl_batch_begin(buf, seq) } }
    mutating func end() { append { buf, seq in nftnl_batch_end(buf, seq) } }

    private static let createFlags = UInt16(NLM_F_CREATE | NLM_F_ACK)

    mutating func table(_ type: nf_tables_msg_types, _ which: NftablesBatch.Table) {
        acknowledged += 1
        append { buf, seq in
            let flags = type == NFT_MSG_NEWTABLE ? Self.createFlags : UInt16(NLM_F_ACK)
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(type.rawValue), which.family, flags, seq)!
            let table = nftnl_table_alloc()!
            defer { nftnl_table_free(table) }
            nftnl_table_set_str(table, UInt16(NFTNL_TABLE_NAME.rawValue), FirewallPlan.table)
            nftnl_table_nlmsg_build_payload(nlh, table)
            return nlh
        }
    }

    /// `exclusive`: EEXIST if the chain is there already (otherwise that is fine).
    mutating func chain(_ spec: FirewallPlan.Chain, exclusive: Bool = false) {
        acknowledged += 1
        append { buf, seq in
            let flags = exclusive ? Self.createFlags | UInt16(NLM_F_EXCL) : Self.createFlags
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWCHAIN.rawValue), NftablesBatch.Table.current.family, flags, seq)!
            let chain = nftnl_chain_alloc()!
            defer { nftnl_chain_free(chain) }
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), FirewallPlan.table)
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), spec.name)
            if let hook = spec.hook {
                switch hook {
                case .prerouting:
                    nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_PRE_ROUTING.rawValue))
                    nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), -100)  // dstnat
                    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "nat")
                case .output:
                    nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_LOCAL_OUT.rawValue))
                    nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), -100)  // dstnat
                    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "nat")
                case .postrouting:
                    nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_POST_ROUTING.rawValue))
                    nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), 100)  // srcnat
                    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "nat")
                case .forward:
                    nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_FORWARD.rawValue))
                    nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), 0)    // filter
                    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter")
                case .guardPrerouting:
                    nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_HOOKNUM.rawValue), UInt32(NF_INET_PRE_ROUTING.rawValue))
                    nftnl_chain_set_s32(chain, UInt16(NFTNL_CHAIN_PRIO.rawValue), -300)  // raw
                    nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TYPE.rawValue), "filter")
                }
                nftnl_chain_set_u32(chain, UInt16(NFTNL_CHAIN_POLICY.rawValue), UInt32(NF_ACCEPT))
            }
            nftnl_chain_nlmsg_build_payload(nlh, chain)
            return nlh
        }
    }

    mutating func rule(_ spec: FirewallPlan.Rule) {
        acknowledged += 1
        append { buf, seq in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_NEWRULE.rawValue), NftablesBatch.Table.current.family,
                                            UInt16(NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK), seq)!
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), FirewallPlan.table)
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), spec.chain)
            // A header field is read only from its own family's packets (nft adds the same
            // dependency: `meta nfproto ipv4` before `ip saddr`).
            var family: FirewallPlan.Family?
            for match in spec.matches {
                if let needed = match.family, needed != family {
                    Expressions.add(family: needed, to: rule)
                    family = needed
                }
                Expressions.add(match, to: rule)
            }
            Expressions.add(spec.action, to: rule)
            if let comment = spec.comment {
                let data = Self.userData(comment: comment)
                data.withUnsafeBytes { _ = nftnl_rule_set_data(rule, UInt16(NFTNL_RULE_USERDATA.rawValue), $0.baseAddress, UInt32($0.count)) }
            }
            nftnl_rule_nlmsg_build_payload(nlh, rule)
            return nlh
        }
    }

    /// A comment as nft stores it in a rule's user data, where `nft list` finds it: one TLV of
    /// libnftnl's udata.h (which this module does not import): type NFTNL_UDATA_RULE_COMMENT
    /// (0), a length byte, then the text with its terminating zero, at most
    /// NFTNL_UDATA_COMMENT_MAXLEN (128) bytes in all.
    static func userData(comment: String) -> [UInt8] {
        let text = Array(comment.utf8.prefix(127)) + [0]
        return [0, UInt8(text.count)] + text
    }

    /// NFT_MSG_DELRULE: the rule `handle` of `chain`, or every rule of it (a flush).
    mutating func deleteRules(chain: String, handle: UInt64? = nil) {
        acknowledged += 1
        append { buf, seq in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_DELRULE.rawValue), NftablesBatch.Table.current.family, UInt16(NLM_F_ACK), seq)!
            let rule = nftnl_rule_alloc()!
            defer { nftnl_rule_free(rule) }
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_TABLE.rawValue), FirewallPlan.table)
            nftnl_rule_set_str(rule, UInt16(NFTNL_RULE_CHAIN.rawValue), chain)
            if let handle { nftnl_rule_set_u64(rule, UInt16(NFTNL_RULE_HANDLE.rawValue), handle) }
            nftnl_rule_nlmsg_build_payload(nlh, rule)
            return nlh
        }
    }

    /// NFT_MSG_DELCHAIN of a chain of contain's table (which nothing may jump to any more).
    mutating func deleteChain(_ name: String) {
        acknowledged += 1
        append { buf, seq in
            let nlh = nftnl_nlmsg_build_hdr(buf, UInt16(NFT_MSG_DELCHAIN.rawValue), NftablesBatch.Table.current.family, UInt16(NLM_F_ACK), seq)!
            let chain = nftnl_chain_alloc()!
            defer { nftnl_chain_free(chain) }
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_TABLE.rawValue), FirewallPlan.table)
            nftnl_chain_set_str(chain, UInt16(NFTNL_CHAIN_NAME.rawValue), name)
            nftnl_chain_nlmsg_build_payload(nlh, chain)
            return nlh
        }
    }
}

/// nftables expressions, the way nft itself compiles each match: load into register 1, then
/// compare (and mask where a prefix or a bit set is tested).
enum Expressions {
    static let register = UInt32(NFT_REG_1.rawValue)

    /// `meta nfproto ipv4` / `ipv6`: one byte.
    static func add(family: FirewallPlan.Family, to rule: OpaquePointer) {
        meta(rule, NFT_META_NFPROTO)
        compare(rule, NFT_CMP_EQ, [UInt8(family == .ipv4 ? NFPROTO_IPV4 : NFPROTO_IPV6)])
    }

    static func add(_ match: FirewallPlan.Match, to rule: OpaquePointer) {
        switch match {
        case .sourceIn(let network):
            // ip saddr: 4 bytes at offset 12 of the network header.
            prefix(rule, offset: 12, address: network.network.bytes, length: network.prefix)
        case .destinationIn(let network):
            // ip daddr: 4 bytes at offset 16.
            prefix(rule, offset: 16, address: network.network.bytes, length: network.prefix)
        case .sourceIn6(let network):
            // ip6 saddr: 16 bytes at offset 8.
            prefix(rule, offset: 8, address: network.network.bytes, length: network.prefix)
        case .destinationIn6(let network):
            // ip6 daddr: 16 bytes at offset 24.
            prefix(rule, offset: 24, address: network.network.bytes, length: network.prefix)
        case .inputInterface(let name):
            meta(rule, NFT_META_IIFNAME)
            compare(rule, NFT_CMP_EQ, interfaceName(name))
        case .outputInterface(let name):
            meta(rule, NFT_META_OIFNAME)
            compare(rule, NFT_CMP_EQ, interfaceName(name))
        case .notOutputInterface(let name):
            meta(rule, NFT_META_OIFNAME)
            compare(rule, NFT_CMP_NEQ, interfaceName(name))
        case .establishedOrRelated:
            let ct = expr("ct")
            nftnl_expr_set_u32(ct, UInt16(NFTNL_EXPR_CT_KEY), UInt32(NFT_CT_STATE.rawValue))
            nftnl_expr_set_u32(ct, UInt16(NFTNL_EXPR_CT_DREG), register)
            nftnl_rule_add_expr(rule, ct)
            // NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED), host order.
            let bits = UInt32(1 << (IP_CT_ESTABLISHED.rawValue + 1) | 1 << (IP_CT_RELATED.rawValue + 1))
            bitwise(rule, mask: withUnsafeBytes(of: bits) { Array($0) })
            compare(rule, NFT_CMP_NEQ, [0, 0, 0, 0])
        case .destinationNATed:
            let ct = expr("ct")
            nftnl_expr_set_u32(ct, UInt16(NFTNL_EXPR_CT_KEY), UInt32(NFT_CT_STATUS.rawValue))
            nftnl_expr_set_u32(ct, UInt16(NFTNL_EXPR_CT_DREG), register)
            nftnl_rule_add_expr(rule, ct)
            let bits = UInt32(IPS_DST_NAT.rawValue)
            bitwise(rule, mask: withUnsafeBytes(of: bits) { Array($0) })
            compare(rule, NFT_CMP_NEQ, [0, 0, 0, 0])
        case .localDestination:
            let fib = expr("fib")
            nftnl_expr_set_u32(fib, UInt16(NFTNL_EXPR_FIB_FLAGS), UInt32(NFTA_FIB_F_DADDR.rawValue))
            nftnl_expr_set_u32(fib, UInt16(NFTNL_EXPR_FIB_RESULT), UInt32(NFT_FIB_RESULT_ADDRTYPE.rawValue))
            nftnl_expr_set_u32(fib, UInt16(NFTNL_EXPR_FIB_DREG), register)
            nftnl_rule_add_expr(rule, fib)
            compare(rule, NFT_CMP_EQ, withUnsafeBytes(of: UInt32(RTN_LOCAL)) { Array($0) })
        case .destination(let address):
            payload(rule, base: NFT_PAYLOAD_NETWORK_HEADER, offset: 16, length: 4)
            compare(rule, NFT_CMP_EQ, address.bytes)
        case .destination6(let address):
            payload(rule, base: NFT_PAYLOAD_NETWORK_HEADER, offset: 24, length: 16)
            compare(rule, NFT_CMP_EQ, address.bytes)
        case .transport(let transport):
            meta(rule, NFT_META_L4PROTO)
            compare(rule, NFT_CMP_EQ, [UInt8(transport == .tcp ? IPPROTO_TCP : IPPROTO_UDP)])
        case .destinationPort(let port):
            payload(rule, base: NFT_PAYLOAD_TRANSPORT_HEADER, offset: 2, length: 2)
            compare(rule, NFT_CMP_EQ, [UInt8(port >> 8), UInt8(port & 0xff)])
        }
    }

    static func add(_ action: FirewallPlan.Action, to rule: OpaquePointer) {
        switch action {
        case .masquerade:
            nftnl_rule_add_expr(rule, expr("masq"))
        case .dnat(let address, let port):
            dnat(rule, family: UInt32(NFPROTO_IPV4), address: address.bytes, port: port)
        case .dnat6(let address, let port):
            dnat(rule, family: UInt32(NFPROTO_IPV6), address: address.bytes, port: port)
        case .accept, .drop, .jump:
            let verdict = expr("immediate")
            nftnl_expr_set_u32(verdict, UInt16(NFTNL_EXPR_IMM_DREG), UInt32(NFT_REG_VERDICT.rawValue))
            switch action {
            case .accept: nftnl_expr_set_u32(verdict, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(NF_ACCEPT))
            case .drop: nftnl_expr_set_u32(verdict, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(NF_DROP))
            case .jump(let chain):
                nftnl_expr_set_u32(verdict, UInt16(NFTNL_EXPR_IMM_VERDICT), UInt32(bitPattern: NFT_JUMP.rawValue))
                nftnl_expr_set_str(verdict, UInt16(NFTNL_EXPR_IMM_CHAIN), chain)
            case .masquerade, .dnat, .dnat6: break
            }
            nftnl_rule_add_expr(rule, verdict)
        }
    }

    /// `dnat ip to A:P` / `dnat ip6 to [A]:P`: address in register 1, port in register 2. In an
    /// inet table the nat expression names its family and the kernel applies it to that
    /// family's packets only. (nft also sends flags NF_NAT_RANGE_PROTO_SPECIFIED, which the
    /// kernel sets by itself for a port register; the installed rules list the same.)
    private static func dnat(_ rule: OpaquePointer, family: UInt32, address: [UInt8], port: UInt16) {
        immediate(rule, register: register, data: address)
        immediate(rule, register: UInt32(NFT_REG_2.rawValue), data: [UInt8(port >> 8), UInt8(port & 0xff)])
        let nat = expr("nat")
        nftnl_expr_set_u32(nat, UInt16(NFTNL_EXPR_NAT_TYPE), UInt32(NFT_NAT_DNAT.rawValue))
        nftnl_expr_set_u32(nat, UInt16(NFTNL_EXPR_NAT_FAMILY), family)
        nftnl_expr_set_u32(nat, UInt16(NFTNL_EXPR_NAT_REG_ADDR_MIN), register)
        nftnl_expr_set_u32(nat, UInt16(NFTNL_EXPR_NAT_REG_PROTO_MIN), UInt32(NFT_REG_2.rawValue))
        nftnl_rule_add_expr(rule, nat)
    }

    /// An interface name as the kernel keeps it: IFNAMSIZ bytes, zero padded.
    static func interfaceName(_ name: String) -> [UInt8] {
        Array(name.utf8.prefix(Int(IFNAMSIZ) - 1)) + [UInt8](repeating: 0, count: Int(IFNAMSIZ) - min(name.utf8.count, Int(IFNAMSIZ) - 1))
    }

    private static func expr(_ name: String) -> OpaquePointer { nftnl_expr_alloc(name)! }

    /// An address within a prefix, compiled as nft does: a prefix of whole bytes loads and
    /// compares just those bytes; one that ends inside a byte loads the whole address and masks it.
    private static func prefix(_ rule: OpaquePointer, offset: UInt32, address: [UInt8], length: Int) {
        if length % 8 == 0 {
            guard length > 0 else { return }  // /0: every address of the family
            payload(rule, base: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: UInt32(length / 8))
            compare(rule, NFT_CMP_EQ, Array(address.prefix(length / 8)))
        } else {
            payload(rule, base: NFT_PAYLOAD_NETWORK_HEADER, offset: offset, length: UInt32(address.count))
            bitwise(rule, mask: (0..<address.count).map { UInt8(truncatingIfNeeded: 0xff << (8 - min(max(length - 8 * $0, 0), 8))) })
            compare(rule, NFT_CMP_EQ, address)
        }
    }

    private static func payload(_ rule: OpaquePointer, base: nft_payload_bases, offset: UInt32, length: UInt32) {
        let e = expr("payload")
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_BASE), UInt32(base.rawValue))
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_OFFSET), offset)
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_LEN), length)
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_PAYLOAD_DREG), register)
        nftnl_rule_add_expr(rule, e)
    }

    private static func immediate(_ rule: OpaquePointer, register: UInt32, data: [UInt8]) {
        let e = expr("immediate")
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_IMM_DREG), register)
        data.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_IMM_DATA), $0.baseAddress, UInt32(data.count)) }
        nftnl_rule_add_expr(rule, e)
    }

    private static func meta(_ rule: OpaquePointer, _ key: nft_meta_keys) {
        let e = expr("meta")
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_META_KEY), UInt32(key.rawValue))
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_META_DREG), register)
        nftnl_rule_add_expr(rule, e)
    }

    private static func bitwise(_ rule: OpaquePointer, mask: [UInt8]) {
        let e = expr("bitwise")
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_SREG), register)
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_DREG), register)
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_BITWISE_LEN), UInt32(mask.count))
        mask.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_BITWISE_MASK), $0.baseAddress, UInt32(mask.count)) }
        let zero = [UInt8](repeating: 0, count: mask.count)
        zero.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_BITWISE_XOR), $0.baseAddress, UInt32(zero.count)) }
        nftnl_rule_add_expr(rule, e)
    }

    private static func compare(_ rule: OpaquePointer, _ op: nft_cmp_ops, _ data: [UInt8]) {
        let e = expr("cmp")
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_CMP_SREG), register)
        nftnl_expr_set_u32(e, UInt16(NFTNL_EXPR_CMP_OP), UInt32(op.rawValue))
        data.withUnsafeBytes { _ = nftnl_expr_set(e, UInt16(NFTNL_EXPR_CMP_DATA), $0.baseAddress, UInt32(data.count)) }
        nftnl_rule_add_expr(rule, e)
    }
}
