import ContainSystem
import Glibc
import Testing
@testable import ContainRuntime

/// `-v` with named volumes, `--mount`'s long form, and the volume store.
@Suite struct MountFlagTests {
    @Test func dashVTellsVolumeNamesFromHostPaths() throws {
        #expect(try VolumeSpec(parsing: "data:/data") == VolumeSpec(source: "data", target: "/data", readOnly: false, named: true))
        #expect(try VolumeSpec(parsing: "/srv/x:/x:ro")
                == VolumeSpec(source: "/srv/x", target: "/x", readOnly: true, named: false, createMissingSource: true))
        #expect(try VolumeSpec(parsing: "./rel:/x").named == false)
        #expect(throws: SpecError.self) { try VolumeSpec(parsing: "a:/x") }          // a name is 2+ characters
        #expect(throws: SpecError.self) { try VolumeSpec(parsing: "_x:/x") }
    }

    @Test func mountParsesDockersKeys() throws {
        #expect(try MountFlag(parsing: "type=bind,source=/srv,target=/srv,readonly")
                == .volume(VolumeSpec(source: "/srv", target: "/srv", readOnly: true)))
        #expect(try MountFlag(parsing: "src=cache,dst=/cache,ro=false,volume-nocopy")
                == .volume(VolumeSpec(source: "cache", target: "/cache", readOnly: false, named: true)))
        #expect(try MountFlag(parsing: "type=tmpfs,destination=/run,tmpfs-size=1m,tmpfs-mode=1770")
                == .tmpfs(TmpfsSpec(target: "/run", options: ["size=1048576", "mode=1770"])))
        let bad = [
            "type=bind,target=/x", "type=bind,source=rel,target=/x", "type=nfs,target=/x", "source=v,target=x",
            "source=v,target=/a/../b", "type=tmpfs,source=x,target=/t", "type=tmpfs,target=/t,tmpfs-mode=999",
            "type=volume,target=/x", "source=v,target=/x,bogus=1", "source=v,target=/x,readonly=maybe",
            "type=bind,source=/a,target=/b,bind-propagation=shared", "type=bind,source=/a,target=/b,tmpfs-size=1m", "",
        ]
        for text in bad {
            #expect(throws: SpecError.self, "\(text)") { try MountFlag(parsing: text) }
        }
    }

    @Test func theStoreMakesListsAndRemovesVolumesOutsideTheirUsers() throws {
        let dir = "/tmp/contain-volume-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? Files.removeTree(dir) }
        let store = VolumeStore(directory: dir + "/volumes")
        #expect(store.list().isEmpty)
        let volume = try store.create("data")
        #expect(volume.mountpoint == dir + "/volumes/data/_data")
        #expect(Files.isDirectory(volume.mountpoint))
        try Files.write(volume.mountpoint + "/file", "kept\n", create: true)
        #expect(try store.create("data").mountpoint == volume.mountpoint)   // idempotent
        #expect(try Files.read(volume.mountpoint + "/file") == "kept\n")
        try store.create("other")
        #expect(store.list().map(\.name) == ["data", "other"])
        #expect(store.size("data") > 0)
        #expect(store.users(of: "data", stateRoot: dir + "/state").isEmpty)
        try store.remove("data", stateRoot: dir + "/state")
        #expect(store.list().map(\.name) == ["other"])
        #expect(throws: RunFailure.self) { try store.remove("data", stateRoot: dir + "/state") }
        #expect(throws: SpecError.self) { try store.create("../escape") }
    }
}
