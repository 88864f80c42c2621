import CContainShim
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// A seccomp filter compiled to classic BPF by libseccomp, as the init loads it.
///
/// Compiling docker's profile takes libseccomp about 10 ms (three architectures, ~1250
/// instructions), more than the rest of a start. So the runtime compiles a configuration's
/// filter once, keeps the program under its state directory, keyed by the SHA-256 of the
/// configuration's tagged encoding (as crun caches its filters), and the init only loads the
/// bytes with seccomp(2).
public struct SeccompProgram: Equatable, Sendable {
    /// `struct sock_filter` entries, 8 bytes each.
    public var bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The program for `seccomp`, from the state root's cache (`<root>/seccomp/`) or compiled
    /// and stored there.
    public static func compiled(_ seccomp: ContainerConfig.Linux.Seccomp, stateRoot: String) throws -> SeccompProgram {
        let directory = stateRoot + "/seccomp"
        var hash = SHA256()
        hash.update(seccomp.encoded())
        let path = directory + "/" + SHA256.hex(hash.finalize()) + ".bpf"
        if let cached = try? Files.readBytes(path), !cached.isEmpty, cached.count % 8 == 0 {
            return SeccompProgram(bytes: cached)
        }
        let program = SeccompProgram(bytes: try SeccompFilter.export(seccomp))
        // A cache that cannot be written costs time, not correctness.
        if (try? Files.makeDirectories(directory, mode: 0o700)) != nil {
            let temporary = path + ".tmp.\(getpid())"
            if (try? Files.write(temporary, bytes: program.bytes, mode: 0o600)) != nil, rename(temporary, path) == 0 {} else {
                unlink(temporary)
            }
        }
        return program
    }

    /// seccomp(SECCOMP_SET_MODE_FILTER) of this program on the calling thread. Without
    /// no_new_privs set the caller needs CAP_SYS_ADMIN (Hardening's order sees to it).
    func load() throws {
        try sys("seccomp(SECCOMP_SET_MODE_FILTER)") {
            bytes.withUnsafeBytes { cshim_seccomp_set_filter($0.baseAddress, UInt32(bytes.count / 8)) }
        }
    }
}

extension SeccompProgram: TaggedCodable {
    public func encodePayload(into bytes: inout [UInt8]) { bytes.append(contentsOf: self.bytes) }
    public init(payload: ArraySlice<UInt8>, path: TaggedPath) throws(TaggedDecodingError) {
        guard payload.count % 8 == 0 else {
            throw .invalid(path: path.description, offset: payload.startIndex, reason: "a BPF program is a whole number of 8-byte instructions")
        }
        self.init(bytes: Array(payload))
    }
}
