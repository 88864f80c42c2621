import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// /proc/locks read as the inodes a flock is held on: the text, the device numbers, and the
/// kernel's own answer for a directory this test locks, and for a record a runtime holds.
@Suite struct HeldLocksTests {
    @Test func parsesHeldFlocksOfOneDevice() {
        let device = UInt64(0xfd) << 8 | 0x01  // fd:01 as st_dev encodes it
        let text = """
            1: FLOCK  ADVISORY  WRITE 4242 fd:01:1234 0 EOF
            1: -> FLOCK  ADVISORY  WRITE 4243 fd:01:9999 0 EOF
            2: POSIX  ADVISORY  WRITE 4244 fd:01:5678 0 EOF
            3: FLOCK  ADVISORY  READ 4245 00:19:777 0 EOF
            4: OFDLCK ADVISORY  READ -1 fd:01:888 0 EOF
            5: FLOCK  ADVISORY  WRITE 4246 fd:01:31337 0 EOF
            6: FLOCK  ADVISORY  WRITE 4247 <none>:0 0 EOF
            """
        // Held flocks on fd:01 only: not a waiter's (->), a POSIX or OFD lock, another device's.
        #expect(HeldLocks.parse(text, device: device) == [1234, 31337])
        #expect(HeldLocks.split(device: device) == (0xfd, 0x01))
        // glibc's makedev for a major above 0xfff and a minor above 0xff.
        let big = (UInt64(0x1234) & 0xfff) << 8 | (UInt64(0x1234) & ~UInt64(0xfff)) << 32 | (UInt64(0x5678) & 0xff) | (UInt64(0x5678) & ~UInt64(0xff)) << 12
        #expect(HeldLocks.split(device: big) == (0x1234, 0x5678))
    }

    @Test func seesALockThisProcessHolds() throws {
        try withTemporaryDirectory { dir in
            let listing = try Files.listWithInodes(dir + "/..")
            let inode = try #require(listing.entries.first { dir.hasSuffix("/" + $0.name) }?.inode)
            #expect(!HeldLocks.read(device: listing.device).contains(inode: inode))
            let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            #expect(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0)
            #expect(HeldLocks.read(device: listing.device).contains(inode: inode))
            close(fd)
            #expect(!HeldLocks.read(device: listing.device).contains(inode: inode))
        }
    }

    /// A live record's directory is locked while its runtime holds it (what reclaim reads
    /// instead of probing each record), and no longer once it finished.
    @Test func aRecordsDirectoryIsLockedWhileItsRuntimeHoldsIt() throws {
        try withTemporaryDirectory { root in
            let record = try ContainerRecord.create(stateRoot: root, info: ContainerRecordTests.info("held0001", keep: true),
                                                    cgroupDirectories: [])
            let listing = try Files.listWithInodes(root + "/containers")
            let inode = try #require(listing.entries.first { $0.name == "held0001" }?.inode)
            #expect(HeldLocks.read(device: listing.device).contains(inode: inode))
            #expect(ContainerRecord.reclaimAbandoned(stateRoot: root).isEmpty)
            _ = record.finish(exitCode: 0, status: ContainerStatus())
            #expect(!HeldLocks.read(device: listing.device).contains(inode: inode))
            #expect(ContainerRecord.reclaimAbandoned(stateRoot: root).isEmpty, "an exited record is kept")
        }
    }
}
