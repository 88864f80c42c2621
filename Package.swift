// swift-tools-version:6.0
import PackageDescription

// Module graph (each depends only on what is above it):
//
//   CContainShim       C: the syscalls Swift cannot call, and clone+exec
//   ContainSystem      errno-carrying errors, files, signals, ids, SHA-256
//   CZlib              system library: zlib, for .tar.gz rootfs tarballs
//   CLibseccomp        system library: libseccomp, which builds the containers' seccomp filters
//   CLibmnl            system library: libmnl + kernel netlink headers
//   CLibnftnl          system library: libnftnl + kernel nf_tables headers
//   CLibpcap           C: libpcap (capture, filters, pcap files), loaded only when capture runs
//   ContainNetwork     netlink over libmnl, NAT over libnftnl, capture over libpcap, IPAM, network store;
//                      depends on the system layer only, never on the runtime
//   ContainRuntime     parent side, init side, sync channel, rootfs, cgroups
//   CLibyaml           C: libyaml (YAML documents), loaded only when a lab file is read
//   ContainLab         lab files: YAML into a checked lab, the plan, up/down, the graph
//   ContainOCI         OCI bundles (config.json) into the one configuration, runc's lifecycle
//   contain            the command line (thin)
//   contain-oci        runc's command line over the same engine (thin)
let package = Package(
    name: "contain",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "contain", targets: ["contain"]),
        .executable(name: "contain-oci", targets: ["contain-oci"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(name: "CContainShim", path: "Sources/CContainShim"),
        .target(name: "ContainSystem", dependencies: ["CContainShim"], path: "Sources/ContainSystem"),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibseccomp", path: "Sources/CLibseccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        .systemLibrary(name: "CLibmnl", path: "Network/CLibmnl", pkgConfig: "libmnl",
                       providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CLibnftnl", path: "Network/CLibnftnl", pkgConfig: "libnftnl",
                       providers: [.apt(["libnftnl-dev"])]),
        .target(name: "CLibpcap", path: "Network/CLibpcap"),
        .target(name: "ContainNetwork", dependencies: ["CLibmnl", "CLibnftnl", "CLibpcap", "CContainShim", "ContainSystem"],
                path: "Network/ContainNetwork"),
        .target(name: "ContainRuntime", dependencies: ["ContainSystem", "ContainNetwork", "CContainShim", "CZlib", "CLibseccomp"],
                path: "Sources/ContainRuntime"),
        .target(name: "CLibyaml", path: "Sources/CLibyaml"),
        .target(name: "ContainLab", dependencies: ["ContainRuntime", "ContainNetwork", "ContainSystem", "CLibyaml"],
                path: "Sources/ContainLab"),
        .executableTarget(name: "contain",
                          dependencies: ["ContainRuntime", "ContainLab",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/contain"),
        .target(name: "ContainOCI", dependencies: ["ContainRuntime", "ContainNetwork", "ContainSystem"], path: "Sources/ContainOCI"),
        .executableTarget(name: "contain-oci",
                          dependencies: ["ContainOCI", "ContainRuntime", "ContainSystem",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          path: "Sources/contain-oci"),
        .testTarget(name: "ContainRuntimeTests", dependencies: ["ContainRuntime", "ContainSystem", "CLibseccomp"],
                    path: "Tests/ContainRuntimeTests"),
        .testTarget(name: "ContainNetworkTests", dependencies: ["ContainNetwork", "CLibmnl", "CLibnftnl", "ContainSystem"],
                    path: "Tests/ContainNetworkTests"),
        .testTarget(name: "ContainCLITests", dependencies: ["contain"], path: "Tests/ContainCLITests"),
        .testTarget(name: "ContainLabTests", dependencies: ["ContainLab", "ContainNetwork"], path: "Tests/ContainLabTests"),
        .testTarget(name: "ContainOCITests", dependencies: ["ContainOCI", "ContainRuntime"], path: "Tests/ContainOCITests"),
        .testTarget(name: "IntegrationTests", dependencies: ["ContainSystem"],
                    path: "Tests/IntegrationTests"),
    ]
)
