import CContainShim
import CZlib
import ContainSystem
#if canImport(Glibc)
import Glibc
#endif

/// `--rootfs FILE.tar[.gz]`: unpacked once into a cache keyed by the SHA-256 of the file's
/// content, and reused by every container started from the same bytes.
///
///     <cache>/<sha256>/         the unpacked tree (only ever renamed into place whole)
///     <cache>/index/<dev>-<ino> what a tarball hashed to (TarballIndex): an unchanged file is
///                               not read again
///     <cache>/.new-<random>/    an unpacking in progress
///     <cache>/.old-<random>/    a tree being removed by `contain rootfs prune`
///
/// Every entry is created relative to the staging directory with openat2(RESOLVE_IN_ROOT), so
/// neither `..` nor a symlink unpacked earlier can send a later entry outside it.
///
/// A tree in use is pinned: whoever starts a container from it holds a shared flock on the
/// tree's directory until it exits, and `rootfs prune` removes only a tree it can lock
/// exclusively and that no container record names. A tree is locked before it is looked at,
/// and looked at again once locked, so a prune that removed it meanwhile is always noticed.
public enum TarballRootfs {
    public static let defaultCache = "/var/lib/contain/rootfs"
    static let indexDirectory = "index"

    public static func isTarball(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// Whether a name in the cache is an unpacked tree's: 64 lowercase hex digits.
    public static func isDigest<S: StringProtocol>(_ name: S) -> Bool {
        name.utf8.count == 64 && name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The unpacked rootfs for `path` (a real path), unpacking it first if it is not in the
    /// cache; the file is hashed only when the index cannot vouch for it. The tree returned
    /// stays pinned for as long as this process lives (one descriptor, never closed), so a
    /// concurrent `rootfs prune` cannot remove it before the container's record names it.
    public static func prepare(_ path: String, cache: String, progress: Progress, display: String) throws -> String {
        // Read through one descriptor: a file replaced by rename meanwhile changes nothing
        // here; one changed in place shows in its fstat, and the work starts over.
        let fd = try sys("open", path: display) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        let index = TarballIndex(directory: cache + "/" + indexDirectory)
        for _ in 0..<3 {
            let started = TarballIndex.Timestamp.now()  // before the file is looked at
            let before = try TarballIndex.FileState.of(fd: fd, path: display)
            var fresh: TarballIndex.Entry?
            let digest: String
            if let known = index.digest(for: before) {
                digest = known
            } else {
                guard startsLikeATarArchive(fd) else {
                    throw RunFailure.runtime("rootfs `\(display)`: not a directory, nor a tar archive")
                }
                digest = try sha256(fd: fd, path: display)
                guard try TarballIndex.FileState.of(fd: fd, path: display) == before else { continue }
                fresh = TarballIndex.Entry(file: before, hashed: started, digest: digest, path: path)
            }
            let final = cache + "/" + digest
            if try pin(final) == nil {
                progress.say("unpacking rootfs: \(path) (sha256 \(digest.prefix(12)))")
                guard try unpack(fd, as: before, display: display, into: final, cache: cache) else { continue }
            } else {
                progress.say("rootfs from cache: \(digest.prefix(12))")
            }
            // The index is an optimisation: a cache it cannot be written to still works.
            if let fresh { try? index.record(fresh) } else { index.touch(before) }
            return final
        }
        throw RunFailure.runtime("rootfs `\(display)`: the tarball kept changing while it was read")
    }

    /// Locks `directory` shared and keeps it locked (the descriptor is returned, O_CLOEXEC):
    /// nil when it is not there, or was removed while the lock was awaited.
    static func pin(_ directory: String) throws -> Int32? {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw SystemError.last("open", path: directory)
        }
        while flock(fd, LOCK_SH) != 0 {
            guard errno == EINTR else {
                let error = SystemError.last("flock", path: directory)
                close(fd)
                throw error
            }
        }
        var held = stat()
        var named = stat()
        if fstat(fd, &held) == 0 && stat(directory, &named) == 0 && held.st_dev == named.st_dev && held.st_ino == named.st_ino {
            return fd
        }
        close(fd)
        return nil
    }

    /// Unpacks the archive into a pinned staging directory and renames it to `final`, or uses
    /// the tree another contain renamed there first. false: the tarball is no longer the file
    /// `hashed` describes, or a prune took the staging directory or the tree (the caller
    /// starts over); a tree is never renamed into place under a digest it may not have.
    private static func unpack(_ fd: Int32, as hashed: TarballIndex.FileState, display: String, into final: String,
                               cache: String) throws -> Bool {
        try Files.makeDirectories(cache, mode: 0o700)
        let staging = cache + "/.new-" + (try Identifiers.randomHex(bytes: 8))
        try Files.makeDirectory(staging, mode: 0o755)
        guard let pinned = try pin(staging) else { return false }
        do {
            try unpack(fd, display: display, into: staging)
            guard try TarballIndex.FileState.of(fd: fd, path: display) == hashed else {
                try? Files.removeTree(staging)
                close(pinned)
                return false
            }
            if rename(staging, final) == 0 { return true }  // `pinned` now pins the tree
            // Another contain unpacked the same bytes first: use theirs.
            guard errno == EEXIST || errno == ENOTEMPTY else { throw SystemError.last("rename", path: final) }
            try? Files.removeTree(staging)
            close(pinned)
            return try pin(final) != nil
        } catch {
            try? Files.removeTree(staging)
            close(pinned)
            throw error
        }
    }

    /// Whether the first block (through gzip, if compressed) is a valid tar header.
    static func startsLikeATarArchive(_ fd: Int32) -> Bool {
        guard let gz = openArchive(fd) else { return false }
        defer { gzclose(gz) }
        var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
        let n = block.withUnsafeMutableBytes { gzread(gz, $0.baseAddress, UInt32($0.count)) }
        guard n == Int32(TarHeader.blockSize), let header = try? TarHeader(block: block) else { return false }
        return header != nil
    }

    /// zlib reading the file from its start, through a descriptor of its own (gzclose closes it).
    private static func openArchive(_ fd: Int32) -> gzFile? {
        guard lseek(fd, 0, SEEK_SET) == 0 else { return nil }
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { return nil }
        guard let gz = gzdopen(copy, "rb") else {
            close(copy)
            return nil
        }
        return gz
    }

    static func sha256(fd: Int32, path: String) throws -> String {
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var offset: off_t = 0
        while true {
            let n = try sys("read", path: path) { buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) } }
            if n == 0 { break }
            buffer.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            offset += off_t(n)
        }
        return SHA256.hex(hasher.finalize())
    }

    /// Reads the (possibly gzip-compressed) archive from its start and creates its entries
    /// under `root`.
    static func unpack(_ fd: Int32, display path: String, into root: String) throws {
        guard let gz = openArchive(fd) else { throw SystemError.last("open tarball", path: path) }
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
