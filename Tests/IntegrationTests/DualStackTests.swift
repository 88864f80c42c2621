import Foundation
import Testing

/// Dual-stack networks, end to end: both addresses and default routes, NAT to the upstream over
/// both families, AAAA from the name server, a published port over IPv6, and bad input.
@Suite(.enabled(if: Harness.enabled)) struct DualStackTests {
    /// A one-connection TCP listener on the upstream's IPv6 address that prints the peer.
    static func upstreamListener6(_ lab: NetworkLab, port: Int) throws -> Running {
        let script = """
            import socket
            s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(NetworkLab.upstreamAddress6)", \(port))); s.listen(1)
            print("listening", flush=True)
            s.settimeout(30)
            c, peer = s.accept()
            print("peer", peer[0], "said", c.recv(100).decode().strip(), flush=True)
            c.sendall(b"hello over ipv6\\n"); c.close()
            """
        let listener = try Running(arguments: ["--net=/run/netns/" + lab.upstream, "/usr/bin/python3", "-c", script],
                                   stdin: nil, executable: NetworkLab.nsenter)
        try #require(listener.waitForOutput("listening"), "upstream listener started")
        return listener
    }

    @Test func aDualStackContainerReachesEverythingOverBothFamilies() throws {
        let lab = try NetworkLab()
        let created = try lab.contain(["net", "create", "dual", "--subnet", "10.88.60.0/24", "--subnet", "fd00:60::/64"])
        #expect(created.status == 0, "\(created)")
        let listener = try Self.upstreamListener6(lab, port: 7006)
        let web = try lab.startRun(["--net", "dual", "--name", "web6", "-p", "8086:80", "-p", "[::]:8087:80"], ["sh", "-c", """
            trap 'exit 0' TERM
            mkdir /tmp/www; echo "page over ipv6" > /tmp/www/index.html; httpd -p 80 -h /tmp/www
            echo ready; while :; do sleep 0.1; done
            """])
        #expect(web.waitForOutput("ready"), "\(web.stdoutSoFar)")
        let client = try lab.run(["--net", "dual", "--ip6", "fd00:60::77", "-q"], ["sh", "-c", """
            ip -6 -o addr show dev eth0 scope global | awk '{print $4}'
            ip -6 route show default | awk '{print $1, $2, $3}'
            ping6 -c1 -W3 fd00:60::1 >/dev/null && echo gateway6
            nslookup -type=AAAA web6 | grep '^Address: '
            grep nameserver /etc/resolv.conf
            nslookup web6 fd00:60::1 | grep '^Address: ' | sort
            ping6 -c1 -W3 web6 >/dev/null && echo web6-by-name
            echo hi | nc -w 5 \(NetworkLab.upstreamAddress6) 7006
            """])
        #expect(client.status == 0, "\(client)")
        #expect(client.stdout == """
            fd00:60::77/64
            default via fd00:60::1
            gateway6
            Address: fd00:60::2
            nameserver 10.88.60.1
            nameserver fd00:60::1
            Address: 10.88.60.2
            Address: fd00:60::2
            web6-by-name
            hello over ipv6

            """, "\(client)")
        let heard = try listener.wait(timeout: 30)
        // Unique-local addresses are masqueraded: the upstream sees the host's uplink.
        #expect(heard.stdout.contains("peer \(NetworkLab.hostAddress6) said hi"), "\(heard)")
        // The published port answers over IPv6 from the upstream, and over IPv4 as before.
        let page6 = try lab.fetch("http://[\(NetworkLab.hostAddress6)]:8086/index.html", from: lab.upstream)
        let page4 = try lab.fetch("http://\(NetworkLab.hostAddress):8086/index.html", from: lab.upstream)
        #expect(page6 == "page over ipv6\n" && page4 == "page over ipv6\n", "\(page6) / \(page4)")
        // [::]:8087 is IPv6 only.
        #expect(try lab.fetch("http://[\(NetworkLab.hostAddress6)]:8087/index.html", from: lab.upstream) == "page over ipv6\n")
        #expect(try lab.fetch("http://\(NetworkLab.hostAddress):8087/index.html", from: lab.upstream) != "page over ipv6\n")
        // And on the host's [::1] (relayed to the container's IPv6 address).
        #expect(try lab.fetch("http://[::1]:8086/index.html", from: lab.host) == "page over ipv6\n")
        let ls = try lab.contain(["net", "ls"])
        #expect(NetworkTests.row(ls, "dual").contains("10.88.60.0/24,fd00:60::/64"), "\(ls)")
        let ps = try lab.contain(["ps", "--format", "{{.Names}} {{.Address}}"])
        #expect(ps.stdout.contains("web6 10.88.60.2,fd00:60::2"), "\(ps)")
        web.signal(SIGTERM)
        _ = try web.wait()
        try lab.expectClean(network: "dual")
    }

    @Test func badIPv6InputIsRefusedAndLeavesNothing() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "dual", "--subnet", "fd00:61::/64"]).status == 0)
        for (arguments, words) in [(["net", "create", "x", "--subnet", "fd00:61::/80"], "overlaps network `dual`"),
                                   (["net", "create", "x", "--subnet", "fd00:62::/121"], "too small"),
                                   (["net", "create", "x", "--subnet", "fd00:62::1/64"], "host bits"),
                                   (["net", "create", "x", "--subnet", "fd00:62::/64", "--subnet", "fd00:63::/64"], "at most one"),
                                   (["net", "create", "x", "--subnet", "fd00:62::/64", "--gateway", "fd00:99::1"], "not a usable address")] {
            let r = try lab.contain(arguments)
            #expect(r.status != 0 && r.stderr.contains(words), "\(arguments): \(r)")
        }
        let outside = try lab.run(["--net", "dual", "--ip6", "fd00:99::5"], ["true"])
        #expect(outside.status == 125 && outside.errors.first?.contains("not a usable address in fd00:61::/64") == true, "\(outside)")
        let noV6 = try lab.run(["--net", "bridge", "--ip6", "fd00:61::5"], ["true"])
        #expect(noV6.status == 125 && noV6.errors.first?.contains("has no IPv6 subnet") == true, "\(noV6)")
        let portV6 = try lab.run(["--net", "bridge", "-p", "[::]:8088:80"], ["true"])
        #expect(portV6.status == 125 && portV6.errors.first?.contains("has no IPv6 subnet") == true, "\(portV6)")
        let auto = try lab.contain(["net", "create", "auto6", "--ipv6"])
        let inspect = try lab.contain(["net", "inspect", "auto6"])
        #expect(auto.status == 0 && inspect.stdout.contains("subnet:    10.88.") && inspect.stdout.contains(", fd"), "\(inspect)")
        try lab.expectClean(network: "dual")
        try lab.expectClean()
    }
}
