import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

@Suite struct MountsAndUsersTests {
    @Test func volumes() throws {
        #expect(try VolumeSpec(parsing: "/data:/srv") == VolumeSpec(source: "/data", target: "/srv", readOnly: false, createMissingSource: true))
        #expect(try VolumeSpec(parsing: "rel/dir:/srv:ro") == VolumeSpec(source: "rel/dir", target: "/srv", readOnly: true, createMissingSource: true))
        #expect(try VolumeSpec(parsing: "/a:/b:rw").readOnly == false)
        for bad in ["/a", "/a:b", "/a:/b:rx", ":/b", "/a:", "/a:/b/../../etc", "/a:/b:ro:x"] {
            #expect(throws: SpecError.self) { try VolumeSpec(parsing: bad) }
        }
    }

    @Test func environmentEntries() throws {
        #expect(try EnvironmentEntries.validate("A=1") == "A=1")
        #expect(try EnvironmentEntries.validate("EMPTY=") == "EMPTY=")
        #expect(try EnvironmentEntries.validate("X=a=b") == "X=a=b")
        for bad in ["=value", "HAS SPACE=1", "HAS SPACE", ""] {
            #expect(throws: SpecError.self) { try EnvironmentEntries.resolve(bad) }
        }
        // A bare KEY takes the caller's value, and is left out when the caller has none (docker).
        let caller: EnvironmentEntries.Lookup = { $0 == "FROM_CALLER" ? "yes" : nil }
        #expect(try EnvironmentEntries.resolve("FROM_CALLER", lookup: caller) == "FROM_CALLER=yes")
        #expect(try EnvironmentEntries.resolve("UNSET_HERE", lookup: caller) == nil)
        let file = "# comment\n\n  A=1\r\nB=two words\nFROM_CALLER\nUNSET_HERE\n"
        #expect(try EnvironmentEntries.parseFile(file, path: "f", lookup: caller) == ["A=1", "B=two words", "FROM_CALLER=yes"])
        #expect(throws: SpecError("invalid --env-file f line 2 `=oops`: expected KEY=VALUE or KEY")) {
            try EnvironmentEntries.parseFile("A=1\n=oops\n", path: "f")
        }
    }

    @Test func userSpecsParse() throws {
        #expect(try UserSpec(parsing: "alice:staff") == UserSpec(user: "alice", group: "staff"))
        #expect(throws: SpecError.self) { try UserSpec(parsing: "a:b:c") }
        #expect(throws: SpecError.self) { try UserSpec(parsing: "") }
    }

    @Test func signalNames() {
        #expect(Signals.parse("KILL") == SIGKILL)
        #expect(Signals.parse("SIGTERM") == SIGTERM)
        #expect(Signals.parse("usr1") == SIGUSR1)
        #expect(Signals.parse("9") == 9)
        #expect(Signals.parse("NOPE") == nil)
        #expect(Signals.parse("0") == nil)
        #expect(Signals.parse("65") == nil)
    }
}

@Suite struct SHA256Tests {
    func hex(_ text: String) -> String {
        var h = SHA256()
        h.update(Array(text.utf8))
        return SHA256.hex(h.finalize())
    }

    @Test func knownVectors() {
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func chunkingDoesNotMatter() {
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var whole = SHA256()
        whole.update(data)
        var pieces = SHA256()
        var offset = 0
        for size in [1, 63, 64, 65, 200, 607] {
            let end = min(offset + size, data.count)
            pieces.update(Array(data[offset..<end]))
            offset = end
        }
        #expect(whole.finalize() == pieces.finalize())
    }

    @Test func tmpfsOptionsAreDockersWithFlagsAndData() throws {
        let spec = try TmpfsSpec(parsing: "/run:size=64m,mode=1777,exec")
        #expect(spec.target == "/run" && spec.options == ["size=64m", "mode=1777", "exec"])
        let (flags, data) = TmpfsSpec.mountArguments(spec.options)
        #expect(flags == UInt(MS_NOSUID | MS_NODEV) && data == "size=64m,mode=1777")
        #expect(TmpfsSpec.mountArguments([]).flags == UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC))
        #expect(TmpfsSpec.mountArguments(["ro"]).flags & UInt(MS_RDONLY) != 0)
        for bad in ["relative", "/", "/x:a,,b"] {
            #expect(throws: SpecError.self) { try TmpfsSpec(parsing: bad) }
        }
    }

    @Test func ulimitsAreDockersSpelling() throws {
        #expect(try Ulimits.parse("nofile=1024:2048") == .init(type: "RLIMIT_NOFILE", hard: 2048, soft: 1024))
        #expect(try Ulimits.parse("core=0") == .init(type: "RLIMIT_CORE", hard: 0, soft: 0))
        #expect(try Ulimits.parse("nproc=-1") == .init(type: "RLIMIT_NPROC", hard: UInt64.max, soft: UInt64.max))
        for bad in ["bogus=1", "nofile", "nofile=2:1", "nofile=a", "nofile=1:2:3"] {
            #expect(throws: SpecError.self) { try Ulimits.parse(bad) }
        }
    }
}
