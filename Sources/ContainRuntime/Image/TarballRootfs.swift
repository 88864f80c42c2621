import CContainShim
import CZlib
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `--rootfs FILE.tar[.gz]`: unpacked once into a cache keyed by the SHA-256 of the file's
/// content, and reused by every container started from the same bytes.
///
///     <cache>/<sha256>/       the unpacked tree (only ever renamed into place whole)
///     <cache>/.new-<random>/  an unpacking in progress
///
/// Every entry is created relative to the staging directory with openat2(RESOLVE_IN_ROOT), so
/// neither `..` nor a symlink unpacked earlier can send a later entry outside it.
public enum TarballRootfs {
    public static let defaultCache = "/var/lib/contain/rootfs"

    public static func isTarball(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The unpacked rootfs for `path`, unpacking it first if it is not in the cache.
    public static func prepare(_ path: String, cache: String, progress: Progress, display: String) throws -> String {
        guard startsLikeATarArchive(path) else {
            throw RunFailure.runtime("rootfs `\(display)`: not a directory, nor a tar archive")
        }
        let digest = try sha256(of: path)
        let final = cache + "/" + digest
        if Files.isDirectory(final) {
            progress.say("rootfs from cache: \(digest.prefix(12))")
            return final
        }
        try Files.makeDirectories(cache, mode: 0o700)
        let staging = cache + "/.new-" + (try Identifiers.randomHex(bytes: 8))
        try Files.makeDirectory(staging, mode: 0o755)
        progress.say("unpacking rootfs: \(path) (sha256 \(digest.prefix(12)))")
        do {
            try unpack(path, into: staging)
            if rename(staging, final) != 0 {
                // Another contain unpacked the same bytes first: use theirs.
                guard errno == EEXIST || errno == ENOTEMPTY else { throw SystemError.last("rename", path: final) }
                try? Files.removeTree(staging)
            }
        } catch {
            try? Files.removeTree(staging)
            throw error
        }
        return final
    }

    /// Whether the first block (through gzip, if compressed) is a valid tar header.
    static func startsLikeATarArchive(_ path: String) -> Bool {
        guard let gz = gzopen(path, "rb") else { return false }
        defer { gzclose(gz) }
        var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
        let n = block.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
        guard n == Int32(TarHeader.blockSize), let header = try? TarHeader(block: block) else { return false }
        return header != nil
    }

    static func sha256(of path: String) throws -> String {
        let fd = try sys("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try sys("read", path: path) { buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return SHA256.hex(hasher.finalize())
    }

    /// Reads the (possibly gzip-compressed) archive and creates its entries under `root`.
    static func unpack(_ path: String, into root: String) throws {
        guard let gz = gzopen(path, "rb") else { throw SystemError.last("open tarball", path: path) }
        defer { gzclose(gz) }
        let rootFD = try sys("open", path: root) { open(root, CSHIM_O_PATH | O_DIRECTORY | O_CLOEXEC) }
        defer { close(rootFD) }

        func readExactly(_ count: Int) throws -> [UInt8] {
            var data = [UInt8](repeating: 0, count: count)
            var done = 0
            while done < count {
                let n = data.withUnsafeMutableBytes { gzread(gz, $0.baseAddress! + done, UInt32(count - done)) }
                if n < 0 { throw RunFailure.runtime("rootfs `\(path)`: not a readable tar archive (gzip error)") }
                if n == 0 { throw RunFailure.runtime("rootfs `\(path)`: the tar archive ends early") }
                done += Int(n)
            }
            return data
        }
        func padding(_ size: UInt64) -> Int { Int((UInt64(TarHeader.blockSize) - size % UInt64(TarHeader.blockSize)) % UInt64(TarHeader.blockSize)) }

        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        var entries = 0
        while true {
            let block: [UInt8]
            do { block = try readExactly(TarHeader.blockSize) } catch {
                if entries == 0 { throw RunFailure.runtime("rootfs `\(path)`: not a tar archive") }
                throw error
            }
            let parsed: TarHeader?
            do { parsed = try TarHeader(block: block) } catch {
                throw RunFailure.runtime("rootfs `\(path)`: \(error)")
            }
            guard var header = parsed else { break }
            entries += 1
            switch header.kind {
            case .gnuLongName, .gnuLongLink, .paxExtended, .paxGlobal:
                let data = try readExactly(Int(header.size))
                _ = try readExactly(padding(header.size))
                let text = String(decoding: data.prefix(while: { $0 != 0 }), as: UTF8.self)
                if header.kind == .gnuLongName { longName = text }
                if header.kind == .gnuLongLink { longLink = text }
                if header.kind == .paxExtended { pax = TarHeader.paxRecords(data) }
                continue
            default:
                break
            }
            if let name = pax["path"] ?? longName { header.name = name }
            if let link = pax["linkpath"] ?? longLink { header.linkName = link }
            if let size = pax["size"].flatMap(UInt64.init) { header.size = size }
            longName = nil; longLink = nil; pax = [:]

            guard let parts = TarHeader.components(header.name) else {
                throw RunFailure.runtime("rootfs `\(path)`: entry `\(header.name)` leads outside the root")
            }
            if parts.isEmpty || header.kind != .file {
                // Directories, links and devices carry no data; anything that does is skipped.
                _ = try readExactly(Int(header.size))
                _ = try readExactly(padding(header.size))
                if !parts.isEmpty { try create(header, parts: parts, rootFD: rootFD) { _ in } }
                continue
            }
            try create(header, parts: parts, rootFD: rootFD) { fd in
                var left = header.size
                while left > 0 {
                    let chunk = try readExactly(Int(min(left, 1 << 16)))
                    var offset = 0
                    while offset < chunk.count {
                        let n = try sys("write", path: header.name) { chunk.withUnsafeBytes { write(fd, $0.baseAddress! + offset, chunk.count - offset) } }
                        offset += n
                    }
                    left -= UInt64(chunk.count)
                }
            }
            _ = try readExactly(padding(header.size))
        }
        if entries == 0 { throw RunFailure.runtime("rootfs `\(path)`: not a tar archive (empty)") }
    }

    private static func create(_ header: TarHeader, parts: [String], rootFD: Int32, writeContent: (Int32) throws -> Void) throws {
        let name = parts.last!
        let parentPath = "/" + parts.dropLast().joined(separator: "/")
        let parentFD = try openParent(parentPath, rootFD: rootFD)
        defer { close(parentFD) }
        let display = "/" + parts.joined(separator: "/")
        let mode = mode_t(header.mode & 0o7777)
        if header.kind != .directory { unlinkat(parentFD, name, 0) }  // a later entry replaces an earlier one
        switch header.kind {
        case .directory:
            if mkdirat(parentFD, name, 0o700) != 0 && errno != EEXIST { throw SystemError.last("mkdir", path: display) }
        case .file:
            let fd = try sys("create", path: display) { openat(parentFD, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            defer { close(fd) }
            try writeContent(fd)
        case .symlink:
            try sys("symlink", path: display) { symlinkat(header.linkName, parentFD, name) }
        case .hardlink:
            guard let target = TarHeader.components(header.linkName) else {
                throw SystemError("link \(display): target leads outside the root", path: header.linkName, errno: EXDEV)
            }
            let targetFD = try sys("link", path: header.linkName) {
                cshim_open_in_root(rootFD, "/" + target.joined(separator: "/"), CSHIM_O_PATH | O_NOFOLLOW)
            }
            defer { close(targetFD) }
            try sys("link", path: display) { linkat(targetFD, "", parentFD, name, CSHIM_AT_EMPTY_PATH) }
            return  // shares the target's inode: mode and owner are the target's
        case .characterDevice, .blockDevice:
            let type = header.kind == .characterDevice ? S_IFCHR : S_IFBLK
            try sys("mknod", path: display) { mknodat(parentFD, name, type | mode, cshim_makedev(header.deviceMajor, header.deviceMinor)) }
        case .fifo:
            try sys("mkfifo", path: display) { mkfifoat(parentFD, name, mode) }
        default:
            return  // unknown kinds are skipped, as tar does with a warning
        }
        try sys("chown", path: display) { fchownat(parentFD, name, header.uid, header.gid, AT_SYMLINK_NOFOLLOW) }
        if header.kind != .symlink {
            // After chown, which clears set-id bits.
            try sys("chmod", path: display) { fchmodat(parentFD, name, mode, 0) }
        }
    }

    /// The parent directory, resolved inside the root (created if an archive omits it).
    private static func openParent(_ path: String, rootFD: Int32) throws -> Int32 {
        let fd = cshim_open_in_root(rootFD, path, CSHIM_O_PATH | O_DIRECTORY)
        if fd >= 0 { return fd }
        guard errno == ENOENT else { throw SystemError.last("unpack", path: path) }
        try Rootfs.ensureInRoot(rootFD, path, directory: true)
        return try sys("unpack", path: path) { cshim_open_in_root(rootFD, path, CSHIM_O_PATH | O_DIRECTORY) }
    }
}
