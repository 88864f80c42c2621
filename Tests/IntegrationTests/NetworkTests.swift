import Foundation
import Testing

/// Bridge networks, end to end, each test inside its own throwaway host and upstream namespaces.
@Suite(.enabled(if: Harness.enabled)) struct NetworkTests {
    /// The cells of the `net ls` row for `network`.
    static func row(_ ls: RunResult, _ network: String) -> [String] {
        ls.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }.first { $0.first == network } ?? []
    }

    @Test func containerGetsEth0WithAddressRouteAndReachesItsGateway() throws {
        let lab = try NetworkLab()
        let result = try lab.run(["--net", "bridge"], ["sh", "-c", "ip -4 -o addr show eth0; ip route; ping -c1 -W2 10.88.0.1 >/dev/null && echo gateway-ok"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("eth0    inet 10.88.0.2/24"), "\(result)")
        #expect(result.stdout.contains("default via 10.88.0.1 dev eth0"), "\(result)")
        #expect(result.stdout.contains("gateway-ok"), "\(result)")
        #expect(result.progress.contains { $0.contains("connecting to network contain: 10.88.0.2/24 on contain0") }, "\(result)")
        // The default network was created, with its bridge and its rules, on first use.
        let bridge = try lab.inHost(NetworkLab.ipTool, ["-4", "-o", "addr", "show", "dev", "contain0"])
        #expect(bridge.output.contains("inet 10.88.0.1/24"), "\(bridge.output)")
        let table = try lab.nftTable()
        #expect(table.contains("ip saddr 10.88.0.0/24 oifname != \"contain0\" masquerade"), "\(table)")
        #expect(try lab.inHost("/bin/cat", ["/proc/sys/net/ipv4/ip_forward"]).output == "1\n")
        try lab.expectClean()
    }

    @Test func resolvConfAndHostsAreGeneratedNotWrittenIntoTheRootfs() throws {
        let lab = try NetworkLab()
        let hostsBefore = try String(contentsOfFile: Harness.rootfs + "/etc/hosts", encoding: .utf8)
        let result = try lab.run(["--net", "bridge", "--name", "named", "--hostname", "box", "--dns", "192.0.2.53"],
                                 ["sh", "-c", "cat /etc/resolv.conf /etc/hosts"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("nameserver 192.0.2.53\n"), "\(result)")
        #expect(result.stdout.contains("127.0.0.1\tlocalhost\n"), "\(result)")
        #expect(result.stdout.contains("10.88.0.2\tbox named\n"), "\(result)")
        #expect(try String(contentsOfFile: Harness.rootfs + "/etc/hosts", encoding: .utf8) == hostsBefore)
        #expect(try String(contentsOfFile: Harness.rootfs + "/etc/resolv.conf", encoding: .utf8) == "")
        try lab.expectClean()
    }

    @Test func upstreamSeesTheHostsAddressThroughNAT() throws {
        let lab = try NetworkLab()
        let listener = try lab.upstreamListener(port: 7000)
        let result = try lab.run(["--net", "bridge"], ["sh", "-c", "echo ping | nc \(NetworkLab.upstreamAddress) 7000"])
        let heard = try listener.wait(timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("hello from upstream"), "\(result)")
        // Masqueraded: the upstream sees the host's uplink address, not 10.88.0.2.
        #expect(heard.stdout.contains("peer \(NetworkLab.hostAddress) said ping"), "\(heard)")
        try lab.expectClean()
    }

    @Test func namedContainersFindEachOtherIncludingOnesThatJoinLater() throws {
        let lab = try NetworkLab()
        let web = try lab.startRun(["--net", "bridge", "--name", "web"], ["sh", "-c", """
            echo ready
            i=0; while ! nslookup client >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 200 ] && exit 3; sleep 0.1; done
            echo saw-client; ping -c1 -W2 client >/dev/null && echo reached-client
            i=0; while nslookup client >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 200 ] && exit 4; sleep 0.1; done
            echo client-gone
            """])
        #expect(web.waitForOutput("ready"))
        let client = try lab.startRun(["--net", "bridge", "--name", "client"], ["sh", "-c", """
            ping -c1 -W2 web >/dev/null && echo reached-web; nslookup web | grep '^Address: '; sleep 2
            """])
        let webResult = try web.wait(timeout: 40)
        let clientResult = try client.wait(timeout: 40)
        #expect(clientResult.status == 0, "\(clientResult)")
        #expect(clientResult.stdout.contains("reached-web"), "\(clientResult)")
        #expect(clientResult.stdout.contains("Address: 10.88.0.2\n"), "\(clientResult)")
        #expect(webResult.status == 0, "\(webResult)")
        #expect(webResult.stdout.contains("saw-client") && webResult.stdout.contains("reached-client"), "\(webResult)")
        // The client's entry left with it.
        #expect(webResult.stdout.contains("client-gone"), "\(webResult)")
        try lab.expectClean()
    }

    @Test func containersOnDifferentNetworksCannotReachEachOther() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "left", "--subnet", "10.88.10.0/24"]).status == 0)
        #expect(try lab.contain(["net", "create", "right", "--subnet", "10.88.11.0/24"]).status == 0)
        let left = try lab.startRun(["--net", "left", "--ip", "10.88.10.5"], ["sh", "-c", "echo ready; sleep 12"])
        let target = try lab.startRun(["--net", "right", "--ip", "10.88.11.5"], ["sh", "-c", "echo ready; sleep 12"])
        #expect(left.waitForOutput("ready") && target.waitForOutput("ready"))
        // Both directions: the forward rules once let the network whose name sorts first reach
        // the other one (its own "out" accept came before the other's drop).
        let right = try lab.run(["--net", "right"], ["sh", "-c", """
            ping -c1 -W2 10.88.11.1 >/dev/null && echo own-gateway
            ping -c1 -W2 10.88.10.5 >/dev/null && echo reached-left || echo left-unreachable
            """])
        #expect(right.stdout.contains("own-gateway"), "\(right)")
        #expect(right.stdout.contains("left-unreachable"), "\(right)")
        let fromLeft = try lab.run(["--net", "left"], ["sh", "-c", """
            ping -c1 -W2 10.88.10.5 >/dev/null && echo own-network
            ping -c1 -W2 10.88.11.5 >/dev/null && echo reached-right || echo right-unreachable
            """])
        #expect(fromLeft.stdout.contains("own-network"), "\(fromLeft)")
        #expect(fromLeft.stdout.contains("right-unreachable"), "\(fromLeft)")
        for running in [left, target] {
            running.signal(SIGKILL)  // contain dies; its container follows (PDEATHSIG) and the next command reclaims
            _ = try running.wait()
        }
        let ls = try lab.contain(["net", "ls"])
        #expect(ls.stdout.contains("left "), "\(ls)")
        try lab.expectClean(network: "left")
        try lab.expectClean(network: "right")
    }

    @Test func internalNetworksHaveNoWayOut() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "iso", "--internal"]).status == 0)
        let result = try lab.run(["--net", "iso"], ["sh", "-c", """
            ip route; ping -c1 -W2 $(ip route | awk '/eth0/{split($1,a,"/"); split(a[1],o,"."); print o[1]"."o[2]"."o[3]".1"}') >/dev/null && echo gateway-ok
            ping -c1 -W2 \(NetworkLab.upstreamAddress) >/dev/null 2>&1 && echo escaped || echo contained
            """])
        #expect(!result.stdout.contains("default via"), "\(result)")
        #expect(result.stdout.contains("gateway-ok"), "\(result)")
        #expect(result.stdout.contains("contained"), "\(result)")
        #expect(!(try lab.nftTable()).contains("masquerade"))
        // Not even another network's published port through its own gateway (DNAT there would
        // be a way out); the port itself answers from a routed network.
        let web = try lab.startRun(["--net", "bridge", "--name", "web", "-p", "18081:80"],
                                   ["sh", "-c", "echo ready; exec httpd -f -p 80 -h /etc"])
        #expect(web.waitForOutput("ready"))
        // (httpd may still be starting: the routed side waits for it, boundedly. busybox's static
        // wget crashes in glibc's resolver, so requests go by nc.)
        let routed = try lab.run(["--net", "bridge"], ["sh", "-c", """
            for i in $(seq 100); do
                printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 2 \(NetworkLab.hostAddress) 18081 2>/dev/null | grep -q '200 OK' && echo port-answers && break
                sleep 0.1
            done
            """])
        #expect(routed.stdout.contains("port-answers"), "\(routed)")
        let leak = try lab.run(["--net", "iso"], ["sh", "-c", """
            gw=$(ip -4 -o addr show eth0 | awk '{split($4,a,"/"); split(a[1],o,"."); print o[1]"."o[2]"."o[3]".1"}')
            printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $gw 18081 2>/dev/null | grep -q '200 OK' && echo leaked || echo port-unreachable
            """])
        #expect(leak.stdout.contains("port-unreachable"), "\(leak)")
        let published = try lab.run(["--net", "iso", "-p", "18082:80"], ["true"])
        #expect(published.status == 125 && published.errors.first?.contains("is internal") == true, "\(published)")
        web.signal(SIGKILL)
        _ = try web.wait()
        _ = try lab.contain(["net", "ls"])  // the next command reclaims what the killed run left
        try lab.expectClean(network: "iso")
        try lab.expectClean(network: "contain")
    }

    @Test func twentyConcurrentContainersGetDistinctAddresses() throws {
        let lab = try NetworkLab()
        // Each holds its lease until told to go (SIGUSR1, forwarded to the shell's trap), so all
        // twenty are alive at once.
        let runs = try (0..<20).map { _ in
            try lab.startRun(["--net", "bridge", "-q"], ["sh", "-c", """
                trap 'exit 0' USR1
                ip -4 -o addr show eth0 | awk '{print $4}'; ping -c1 -W3 10.88.0.1 >/dev/null && echo gw
                while :; do sleep 0.1; done
                """])
        }
        #expect(eventually(timeout: 60) { lab.leases().count == 20 && runs.allSatisfy { $0.stdoutSoFar.contains("gw") } },
                "leases: \(lab.leases().count)")
        runs.forEach { $0.signal(SIGUSR1) }
        let results = runs.map { (try? $0.wait(timeout: 60)) ?? RunResult(status: -1, stdout: "", stderr: "") }
        for r in results { #expect(r.status == 0, "\(r)") }
        let addresses = results.compactMap { $0.stdout.split(separator: "\n").first.map(String.init) }
        #expect(Set(addresses).count == 20, "\(addresses)")
        #expect(addresses.allSatisfy { $0.hasPrefix("10.88.0.") && $0.hasSuffix("/24") })
        #expect(results.allSatisfy { $0.stdout.contains("gw") })
        try lab.expectClean()
    }

    @Test func killNineOfTheRuntimeIsReclaimedByTheNextCommand() throws {
        let lab = try NetworkLab()
        let victim = try lab.startRun(["--net", "bridge", "--name", "victim"], ["sh", "-c", "echo ready; sleep 60"])
        #expect(victim.waitForOutput("ready"))
        #expect(lab.leases().count == 1)
        victim.signal(SIGKILL)
        _ = try victim.wait()
        // The container died with its runtime; its lease is still on disk until someone looks.
        #expect(lab.leases().count == 1)
        let ls = try lab.contain(["net", "ls"])
        #expect(ls.status == 0, "\(ls)")
        #expect(Self.row(ls, "contain") == ["contain", "contain0", "10.88.0.0/24", "10.88.0.1", "0"], "\(ls)")
        // Its name is free again.
        let again = try lab.run(["--net", "bridge", "--name", "victim"], ["true"])
        #expect(again.status == 0, "\(again)")
        try lab.expectClean()
    }

    /// A detached container outlives its supervisor killed with -9: still listed and running,
    /// its lease, port rule and veth kept through `gc` and `net ls` (they belong to its init),
    /// exec reaches its network; `rm -f` then leaves no lease, port rule, veth, cgroup or record.
    @Test func killNineOfADetachedSupervisorKeepsLeaseAndPortUntilRmLeavesNothing() throws {
        let lab = try NetworkLab()
        defer { _ = try? lab.contain(["rm", "-f", "bg"]) }
        let started = try lab.contain(["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", lab.sandbox.cgroupParent,
                                       "--net", "bridge", "--name", "bg", "-p", "8081:80", "--", "sleep", "60"])
        try #require(started.status == 0, "\(started)")
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(lab.leases().count == 1)
        #expect(try lab.nftTable().contains("dnat ip to 10.88.0.2:80"))
        func listed() throws -> [[String: Any]] {
            let ps = try lab.contain(["ps", "--json"])
            try #require(ps.status == 0, "\(ps)")
            return try JSONSerialization.jsonObject(with: Data(ps.stdout.utf8)) as? [[String: Any]] ?? []
        }
        let before = try listed()
        #expect(before.first?["address"] as? String == "10.88.0.2", "\(before)")
        let pid = pid_t(try #require(before.first?["pid"] as? Int))
        func stat(_ pid: pid_t) -> [Substring]? {
            (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?.split(separator: ")").last?.split(separator: " ")
        }
        func dead(_ pid: pid_t) -> Bool { stat(pid).map { $0.first == "Z" } ?? true }  // gone, or a zombie
        // The supervisor is the parent of the container's PID 1, checked before it is signalled.
        let supervisor = try #require(stat(pid)?.dropFirst().first.flatMap { pid_t($0) })
        let cmdline = ((try? String(contentsOfFile: "/proc/\(supervisor)/cmdline", encoding: .utf8)) ?? "").split(separator: "\0").map(String.init)
        try #require(cmdline.contains("--supervise-id") && cmdline.contains(id), "the supervisor: \(cmdline)")
        kill(supervisor, SIGKILL)
        #expect(eventually { dead(supervisor) }, "the supervisor died")

        let gc = try lab.contain(["gc"])
        #expect(gc.status == 0, "\(gc)")
        #expect(!gc.stdout.contains(String(id.prefix(12))), "gc must not reclaim a running container: \(gc)")
        let ls = try lab.contain(["net", "ls"])
        #expect(Self.row(ls, "contain") == ["contain", "contain0", "10.88.0.0/24", "10.88.0.1", "1"], "\(ls)")
        #expect(!dead(pid), "the container outlives its supervisor")
        let after = try listed()
        #expect(after.count == 1 && after.first?["status"] as? String == "running", "\(after)")
        #expect(after.first?["pid"] as? Int == Int(pid) && after.first?["address"] as? String == "10.88.0.2", "\(after)")
        #expect(lab.leases().count == 1, "the lease belongs to the container's init")
        #expect(try lab.nftTable().contains("dnat ip to 10.88.0.2:80"), "the port rule stays")
        #expect(try lab.hostVeths().count == 1)
        let exec = try lab.contain(["exec", "bg", "--", "sh", "-c", "ip -4 -o addr show eth0; ping -c1 -W2 10.88.0.1 >/dev/null && echo gateway-ok"])
        #expect(exec.status == 0, "\(exec)")
        #expect(exec.stdout.contains("inet 10.88.0.2/24") && exec.stdout.contains("gateway-ok"), "\(exec)")

        let rm = try lab.contain(["rm", "-f", "bg"])
        #expect(rm.status == 0, "\(rm)")
        #expect(eventually { dead(pid) }, "rm -f ended the container")
        #expect(try !lab.nftTable().contains("dnat ip to"), "the container's port rule is gone")
        #expect(try listed().isEmpty)
        try lab.expectClean()
    }

    @Test func lsAndInspectShowEndpointsAndGrowingCounters() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "lab", "--subnet", "10.88.30.0/24", "--mtu", "1400"]).status == 0)
        let running = try lab.startRun(["--net", "lab", "--name", "probe"], ["sh", "-c", """
            echo up; cat /sys/class/net/eth0/address; sleep 1; ping -c 20 -i 0.05 -W 5 10.88.30.1 | tail -2 > /tmp/ping.txt; echo pinged; cat /tmp/ping.txt; sleep 4
            """])
        #expect(running.waitForOutput("up"))
        let before = try lab.contain(["net", "inspect", "lab", "--json"])
        #expect(running.waitForOutput("pinged"))
        let after = try lab.contain(["net", "inspect", "lab", "--json"])
        let ls = try lab.contain(["net", "ls"])
        let text = try lab.contain(["net", "inspect", "lab"])
        _ = try running.wait()

        #expect(Self.row(ls, "lab") == ["lab", "ct-lab", "10.88.30.0/24", "10.88.30.1", "1"], "\(ls)")
        #expect(text.stdout.contains("probe") && text.stdout.contains("10.88.30.2/24") && text.stdout.contains("mtu:       1400"), "\(text)")
        func endpoint(_ r: RunResult) throws -> [String: Any] {
            let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            let endpoints = json?["endpoints"] as? [[String: Any]] ?? []
            try #require(endpoints.count == 1, "\(r)")
            return endpoints[0]
        }
        let b = try endpoint(before), a = try endpoint(after)
        #expect(a["name"] as? String == "probe")
        // The lease belongs to the container's PID 1, not to the contain process that ran it.
        #expect((a["pid"] as? Int ?? 0) != Int(running.pid), "pid is the container's PID 1, not its runtime")
        #expect(a["address"] as? String == "10.88.30.2")
        #expect((a["host_veth"] as? String)?.hasPrefix("veth") == true)
        // The container's own eth0 address (docker's 02:42 + its IPv4 address), as it sees it.
        #expect(a["mac"] as? String == "02:42:0a:58:1e:02", "\(a)")
        #expect(running.stdoutSoFar.contains("\n02:42:0a:58:1e:02\n"), "\(running.stdoutSoFar)")
        let txBefore = b["tx_packets"] as? Int ?? -1, txAfter = a["tx_packets"] as? Int ?? -1
        let rxAfter = a["rx_packets"] as? Int ?? -1, rxBefore = b["rx_packets"] as? Int ?? -1
        #expect(txAfter >= txBefore + 20, "tx \(txBefore) -> \(txAfter); ping: \(running.stdoutSoFar)")
        #expect(rxAfter >= rxBefore + 20, "rx \(rxBefore) -> \(rxAfter)")
        try lab.expectClean(network: "lab")
    }

    @Test func publishedPortAnswersClientsUpstreamAndOnTheHost() throws {
        let lab = try NetworkLab()
        let server = try lab.startRun(["--net", "bridge", "--name", "www", "-p", "8080:80", "-p", "\(NetworkLab.hostAddress):9090:80/tcp"], ["sh", "-c", """
            trap 'exit 0' USR1
            mkdir /tmp/www; echo "served by www" > /tmp/www/index.html
            httpd -p 80 -h /tmp/www; echo ready
            while :; do sleep 0.1; done
            """])
        #expect(server.waitForOutput("ready"), "\(server.stdoutSoFar)")
        let table = try lab.nftTable()
        #expect(table.contains("tcp dport 8080 dnat ip to 10.88.0.2:80"), "\(table)")
        #expect(table.contains("ip daddr \(NetworkLab.hostAddress) tcp dport 9090 dnat ip to 10.88.0.2:80"), "\(table)")
        func fetch(from namespace: String, port: Int) throws -> String {
            try lab.fetch("http://\(NetworkLab.hostAddress):\(port)/index.html", from: namespace)
        }
        #expect(try fetch(from: lab.upstream, port: 8080) == "served by www\n")
        #expect(try fetch(from: lab.host, port: 8080) == "served by www\n")
        #expect(try fetch(from: lab.upstream, port: 9090) == "served by www\n")

        // Hairpin: another container on the same network, through the host's address.
        // (busybox's static wget crashes in glibc's resolver, so the request goes by nc.)
        let neighbour = try lab.run(["--net", "bridge", "-q"], ["sh", "-c",
                                    "printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc \(NetworkLab.hostAddress) 8080"])
        #expect(neighbour.stdout.hasSuffix("served by www\n"), "\(neighbour)")
        let inspect = try lab.contain(["net", "inspect", "contain"])
        #expect(inspect.stdout.contains("8080:80/tcp,\(NetworkLab.hostAddress):9090:80/tcp"), "\(inspect)")

        // A second container cannot take the same port.
        let clash = try lab.run(["--net", "bridge", "-p", "8080:81"], ["true"])
        #expect(clash.status == 125, "\(clash)")
        #expect(clash.errors.first?.contains("port 8080/tcp is already published (8080:80/tcp) by container www") == true, "\(clash)")

        server.signal(SIGUSR1)
        let result = try server.wait()
        #expect(result.status == 0, "\(result)")
        let after = try lab.nftTable()
        #expect(!after.contains("dnat ip to"), "port rules left: \(after)")
        #expect(after.contains("chain net-contain"), "the network's own rules stay")
        try lab.expectClean()
    }

    /// A port a host service listens on is refused (DNAT would silently take its traffic), and
    /// a published port is held: no host service can take it while the container lives.
    @Test func publishedPortsAreCheckedAgainstAndHeldFromHostServices() throws {
        let lab = try NetworkLab()
        let bindScript = { (port: Int, listen: Bool) in """
            import socket, sys
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("0.0.0.0", \(port)))
            except OSError as e:
                print("bind-failed", e.errno, flush=True); sys.exit(0)
            \(listen ? "s.listen(1); print('listening', flush=True); import time; time.sleep(30)" : "print('bound', flush=True)")
            """ }
        let service = try Running(arguments: ["--net=/run/netns/" + lab.host, "/usr/bin/python3", "-c", bindScript(18090, true)],
                                  stdin: nil, executable: NetworkLab.nsenter)
        #expect(service.waitForOutput("listening"))
        let refused = try lab.run(["--net", "bridge", "-p", "18090:80"], ["true"])
        #expect(refused.status == 125 && refused.errors == ["[contain] error: port 18090/tcp is already in use on the host"], "\(refused)")
        service.signal(SIGKILL)
        _ = try service.wait()
        let holder = try lab.startRun(["--net", "bridge", "-p", "18091:80"], ["sh", "-c", "echo ready; sleep 20"])
        #expect(holder.waitForOutput("ready"))
        let taken = try Running(arguments: ["--net=/run/netns/" + lab.host, "/usr/bin/python3", "-c", bindScript(18091, false)],
                                stdin: nil, executable: NetworkLab.nsenter).wait(timeout: 30)
        #expect(taken.stdout == "bind-failed 98\n", "\(taken)")  // EADDRINUSE, though it set SO_REUSEADDR
        holder.signal(SIGTERM)
        _ = try holder.wait()
        let free = try Running(arguments: ["--net=/run/netns/" + lab.host, "/usr/bin/python3", "-c", bindScript(18091, false)],
                               stdin: nil, executable: NetworkLab.nsenter).wait(timeout: 30)
        #expect(free.stdout == "bound\n", "\(free)")
        try lab.expectClean()
    }

    /// `curl 127.0.0.1:PORT` on the host reaches a published port (route_localnet on the bridge,
    /// masquerade of loopback-sourced traffic), `-p 127.0.0.1:P:80` works, and nothing from a
    /// container reaches the host's loopback services through the bridge (CVE-2020-8558).
    @Test func theHostsLoopbackReachesPublishedPortsAndNothingElse() throws {
        let lab = try NetworkLab()
        let server = try lab.startRun(["--net", "bridge", "--name", "lo-www", "-p", "18092:80", "-p", "127.0.0.1:18093:80"], ["sh", "-c", """
            trap 'exit 0' TERM
            mkdir /tmp/www; echo "served on loopback" > /tmp/www/index.html
            httpd -p 80 -h /tmp/www; echo ready
            while :; do sleep 0.1; done
            """])
        #expect(server.waitForOutput("ready"), "\(server.stdoutSoFar)")
        func fetch(_ url: String) throws -> String { try lab.fetch(url, from: lab.host) }
        #expect(try fetch("http://127.0.0.1:18092/index.html") == "served on loopback\n")
        #expect(try fetch("http://127.0.0.1:18093/index.html") == "served on loopback\n")
        // [::1] through the supervisor's relay (IPv6 has no route_localnet), to this IPv4-only
        // container; a port published on 127.0.0.1 only is not on [::1].
        #expect(try fetch("http://[::1]:18092/index.html") == "served on loopback\n")
        #expect(try fetch("http://[::1]:18093/index.html") != "served on loopback\n")
        // A container that routes 127.0.0.1 to its gateway (it may: its own namespace,
        // NET_ADMIN, its own route_localnet) must not reach the host's loopback: the host's
        // count of echo requests it answered goes up by the one to the gateway only.
        func echoRequests() throws -> Int {
            let snmp = try runTool(NetworkLab.nsenter, ["--net=/run/netns/" + lab.host, "/bin/cat", "/proc/net/snmp"],
                                   output: lab.sandbox.stateRoot + "/snmp").output
            let icmp = snmp.split(separator: "\n").filter { $0.hasPrefix("Icmp:") }.map { $0.split(separator: " ") }
            guard icmp.count >= 2, let column = icmp[0].firstIndex(of: "InEchos"), column < icmp[1].count else { return -1 }
            return Int(icmp[1][column]) ?? -1
        }
        let before = try echoRequests()
        let probe = try lab.run(["--net", "bridge", "--cap-add", "NET_ADMIN", "--sysctl", "net.ipv4.conf.eth0.route_localnet=1"], ["sh", "-c", """
            ip route del table local local 127.0.0.1 dev lo; ip route del table local local 127.0.0.0/8 dev lo
            ip route add 127.0.0.1/32 via 10.88.0.1 dev eth0 && ip route get 127.0.0.1 | grep -q eth0 && echo routed
            ping -c 3 -W 1 127.0.0.1 >/dev/null 2>&1; ping -c 1 -W 2 10.88.0.1 >/dev/null && echo gateway-answers
            """])
        #expect(probe.stdout == "routed\ngateway-answers\n", "\(probe)")
        #expect(try echoRequests() == before + 1, "echo requests to 127.0.0.1 from a container reached the host")
        server.signal(SIGTERM)
        _ = try server.wait()
        try lab.expectClean()
    }

    /// A host with no resolver at all: the container's resolver is the network's name server,
    /// which answers containers' names only, and contain says so in one line. The host's
    /// resolv.conf is replaced in a private mount namespace of the test's only.
    @Test func aHostWithoutResolversIsReported() throws {
        let lab = try NetworkLab()
        let fake = lab.sandbox.stateRoot + "/resolv.conf"
        try "options edns0\n".write(toFile: fake, atomically: true, encoding: .utf8)
        let script = "mount --bind '\(fake)' /etc/resolv.conf && exec '\(Harness.binary)' --root '\(lab.sandbox.stateRoot)' run "
            + "--rootfs '\(Harness.rootfs)' --cgroup-parent '\(lab.sandbox.cgroupParent)' --net bridge -q -- cat /etc/resolv.conf"
        let r = try Running(arguments: ["--net=/run/netns/" + lab.host, "/usr/bin/unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                            stdin: nil, executable: NetworkLab.nsenter).wait(timeout: 60)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "# generated by contain\noptions edns0\nnameserver 10.88.0.1\n", "\(r)")
        #expect(r.stderr.contains("[contain] warning: the host has no name server in /etc/resolv.conf"), "\(r)")
        try lab.expectClean()
    }

    /// `--net container:NAME`: a sidecar in another container's network namespace, reaching it
    /// on localhost, with its address and its name files; refused for a container that is not
    /// running and with network options of its own.
    @Test func aSidecarSharesAnotherContainersNetwork() throws {
        let lab = try NetworkLab()
        let web = try lab.startRun(["--net", "bridge", "--name", "pod"], ["sh", "-c", """
            trap 'exit 0' TERM
            mkdir /tmp/www; echo "pod's page" > /tmp/www/index.html
            httpd -p 127.0.0.1:8080 -h /tmp/www; echo ready
            while :; do sleep 0.1; done
            """])
        #expect(web.waitForOutput("ready"), "\(web.stdoutSoFar)")
        let sidecar = try lab.run(["--net", "container:pod", "-q"], ["sh", "-c", """
            ip -4 -o addr show eth0 | awk '{print $4}'
            printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc 127.0.0.1 8080 | tail -1
            grep -c pod /etc/hosts >/dev/null && echo hosts-shared
            """])
        #expect(sidecar.status == 0, "\(sidecar)")
        #expect(sidecar.stdout == "10.88.0.2/24\npod's page\nhosts-shared\n", "\(sidecar)")
        let ps = try lab.contain(["ps", "-a", "--format", "{{.Networks}}"])
        #expect(ps.stdout.contains("bridge"), "\(ps)")
        let withPorts = try lab.run(["--net", "container:pod", "-p", "18096:80"], ["true"])
        #expect(withPorts.status == 125, "\(withPorts)")
        let missing = try lab.run(["--net", "container:nobody-here"], ["true"])
        #expect(missing.status != 0 && missing.errors.first?.contains("nobody-here") == true, "\(missing)")
        web.signal(SIGTERM)
        _ = try web.wait()
        let ended = try lab.run(["--net", "container:pod"], ["true"])
        #expect(ended.status != 0, "\(ended)")
        try lab.expectClean()
    }

    /// A host firewall whose forward chain drops by default (docker, ufw, firewalld) is named
    /// when a network is first used, with what to allow; contain does not touch it.
    @Test func aHostForwardPolicyOfDropIsReported() throws {
        let lab = try NetworkLab()
        for command in [["add", "table", "ip", "filter"],
                        ["add", "chain", "ip", "filter", "FORWARD", "{ type filter hook forward priority 0; policy drop; }"]] {
            #expect(try lab.inHost(NetworkLab.nftTool, command).status == 0)
        }
        let r = try lab.run(["--net", "bridge", "-q"], ["true"])
        #expect(r.status == 0, "\(r)")
        let warnings = r.stderr.split(separator: "\n").filter { $0.hasPrefix("[contain] warning:") }
        #expect(warnings.count == 1 && warnings[0].contains("table ip filter chain FORWARD drops forwarded traffic by default")
                && warnings[0].contains("iifname \"contain0\" accept"), "\(r)")
        // Said once, when the network is first used; the other table is left as it was.
        let again = try lab.run(["--net", "bridge", "-q"], ["true"])
        #expect(!again.stderr.contains("warning"), "\(again)")
        #expect(try lab.inHost(NetworkLab.nftTool, ["list", "chain", "ip", "filter", "FORWARD"]).output.contains("policy drop"))
        try lab.expectClean()
    }

    /// --add-host entries (host-gateway: the network's gateway) are in the container's hosts
    /// file, which containers joining leave alone; --dns-search and --dns-option replace the
    /// host's search and options lines.
    @Test func addHostAndDnsSearchAndOptions() throws {
        let lab = try NetworkLab()
        let box = try lab.startRun(["--net", "bridge", "--add-host", "db:192.0.2.7", "--add-host", "gw:host-gateway",
                                    "--dns-search", "lab.example", "--dns-option", "ndots:2"], ["sh", "-c", """
            trap 'exit 0' USR1
            echo ready; while [ ! -e /tmp/go ]; do sleep 0.05; done
            cat /etc/hosts; echo ---; grep -E '^(search|options)' /etc/resolv.conf
            """])
        #expect(box.waitForOutput("ready"))
        // A named container joining (the name server's business, not the hosts files').
        let peer = try lab.run(["--net", "bridge", "--name", "peer", "-q"], ["true"])
        #expect(peer.status == 0, "\(peer)")
        let id = try lab.contain(["ps", "-q"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try lab.contain(["exec", id, "--", "touch", "/tmp/go"])
        let r = try box.wait()
        let parts = r.stdout.components(separatedBy: "---\n")
        #expect(parts.count == 2 && parts[0].hasSuffix("192.0.2.7\tdb\n10.88.0.1\tgw\n"), "\(r)")
        #expect(parts.count == 2 && parts[1] == "search lab.example\noptions ndots:2\n", "\(r)")
        let none = try lab.run(["--add-host", "db:192.0.2.7", "-q"], ["grep", "-w", "db", "/etc/hosts"])
        #expect(none.stdout == "192.0.2.7\tdb\n", "\(none)")
        let bad = try lab.run(["--add-host", "gw:host-gateway"], ["true"])
        #expect(bad.status == 125, "\(bad)")
        try lab.expectClean()
    }

    /// A router between two networks (`--net left --net right`: eth0 and eth1, the default route
    /// on the first): a client on one reaches a server on the other through it, and the router's
    /// name server answers it the members of both.
    @Test func aContainerOnTwoNetworksRoutesBetweenThem() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "left", "--subnet", "10.88.20.0/24"]).status == 0)
        #expect(try lab.contain(["net", "create", "right", "--subnet", "10.88.21.0/24"]).status == 0)
        let server = try lab.startRun(["--net", "right:ip=10.88.21.10", "--name", "server", "--cap-add", "NET_ADMIN"], ["sh", "-c", """
            trap 'exit 0' TERM
            ip route add 10.88.20.0/24 via 10.88.21.2 && echo ready
            while :; do sleep 0.1; done
            """])
        #expect(server.waitForOutput("ready"), "\(server.stdoutSoFar)")
        let router = try lab.startRun(["--net", "left:ip=10.88.20.2", "--net", "right:ip=10.88.21.2", "--name", "router",
                                       "--sysctl", "net.ipv4.ip_forward=1"], ["sh", "-c", """
            trap 'exit 0' TERM
            ip -4 -o addr show | awk '{print $2, $4}' | grep eth; ip route | grep default
            nslookup server | grep -q '^Address: 10.88.21.10' && echo knows-server
            echo ready; while :; do sleep 0.1; done
            """])
        #expect(router.waitForOutput("ready"), "\(router.stdoutSoFar)")
        let lines = router.stdoutSoFar
        #expect(lines.contains("eth0 10.88.20.2/24") && lines.contains("eth1 10.88.21.2/24"), "\(lines)")
        #expect(lines.contains("default via 10.88.20.1 dev eth0") && !lines.contains("dev eth1 \n"), "\(lines)")
        #expect(lines.contains("knows-server"), "\(lines)")
        let client = try lab.run(["--net", "left", "--cap-add", "NET_ADMIN"], ["sh", "-c", """
            ip route add 10.88.21.0/24 via 10.88.20.2
            ping -c1 -W3 10.88.21.10 >/dev/null && echo reached-server || echo no-route
            """])
        #expect(client.stdout.contains("reached-server"), "\(client)")
        let ps = try lab.contain(["ps", "--filter", "network=right", "--format", "{{.Names}} {{.Networks}}"])
        #expect(Set(ps.stdout.split(separator: "\n")) == ["router left,right", "server right"], "\(ps)")
        let again = try lab.run(["--net", "left", "--net", "left"], ["true"])
        #expect(again.status == 125, "\(again)")
        let mixed = try lab.run(["--net", "none", "--net", "left"], ["true"])
        #expect(mixed.status == 125, "\(mixed)")
        for running in [router, server] {
            running.signal(SIGTERM)
            _ = try running.wait()
        }
        try lab.expectClean(network: "left")
        try lab.expectClean(network: "right")
        #expect(try lab.hostVeths() == [])
    }

    /// `net connect` adds an interface to a running container (eth1, its lease, the hosts files),
    /// `net disconnect` takes it away; what a connected container leaves goes with it.
    @Test func netConnectAndDisconnectALiveContainer() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "right", "--subnet", "10.88.23.0/24"]).status == 0)
        let box = try lab.startRun(["--net", "bridge", "--name", "box"], ["sh", "-c", "trap 'exit 0' TERM; echo ready; while :; do sleep 0.1; done"])
        #expect(box.waitForOutput("ready"))
        let connected = try lab.contain(["net", "connect", "--ip", "10.88.23.7", "right", "box"])
        #expect(connected.status == 0 && connected.stdout == "eth1 10.88.23.7/24\n", "\(connected)")
        let inside = try lab.contain(["exec", "box", "--", "sh", "-c", "ip -4 -o addr show eth1 | awk '{print $4}'"])
        #expect(inside.stdout == "10.88.23.7/24\n", "\(inside)")
        let peer = try lab.run(["--net", "right"], ["sh", "-c", "ping -c1 -W3 10.88.23.7 >/dev/null && echo reached; nslookup box | grep '^Address: '"])
        #expect(peer.stdout == "reached\nAddress: 10.88.23.7\n", "\(peer)")
        let networks = try lab.contain(["ps", "--format", "{{.Names}} {{.Networks}}"])
        #expect(networks.stdout == "box bridge,right\n", "\(networks)")
        let twice = try lab.contain(["net", "connect", "right", "box"])
        #expect(twice.status == 125 && twice.errors.first?.contains("already") == true, "\(twice)")
        let primary = try lab.contain(["net", "disconnect", "contain", "box"])
        #expect(primary.status == 125, "\(primary)")
        let disconnected = try lab.contain(["net", "disconnect", "right", "box"])
        #expect(disconnected.status == 0, "\(disconnected)")
        let gone = try lab.contain(["exec", "box", "--", "sh", "-c", "ip link show eth1 >/dev/null 2>&1 && echo still || echo gone"])
        #expect(gone.stdout == "gone\n", "\(gone)")
        #expect(try lab.contain(["ps", "--format", "{{.Networks}}"]).stdout == "bridge\n")
        #expect(lab.leases(network: "right") == [])
        // Connected again, then the container ends: its second lease goes with it.
        #expect(try lab.contain(["net", "connect", "right", "box"]).status == 0)
        box.signal(SIGTERM)
        _ = try box.wait()
        try lab.expectClean(network: "right")
        try lab.expectClean()
    }

    @Test func netRmRefusesWhileInUseThenRemovesBridgeAndRules() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "tmp", "--subnet", "10.88.40.0/24"]).status == 0)
        let holder = try lab.startRun(["--net", "tmp"], ["sh", "-c", "echo ready; sleep 3"])
        #expect(holder.waitForOutput("ready"))
        let refused = try lab.contain(["net", "rm", "tmp"])
        #expect(refused.status == 125)
        #expect(refused.errors.first?.contains("network `tmp` is in use by 1 container(s)") == true, "\(refused)")
        _ = try holder.wait()
        #expect(try lab.nftTable().contains("chain net-tmp"))
        let removed = try lab.contain(["net", "rm", "tmp"])
        #expect(removed.status == 0, "\(removed)")
        #expect(try lab.inHost(NetworkLab.ipTool, ["link", "show", "ct-tmp"]).status != 0)
        #expect(try !lab.nftTable().contains("net-tmp"))
        #expect(try lab.contain(["net", "ls"]).stdout.split(separator: "\n").count == 1)
    }
}

/// Bad network input: one line, exit 125, nothing half-created.
@Suite(.enabled(if: Harness.enabled)) struct NetworkErrorTests {
    static func expectFailure(_ result: RunResult, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(result.status == 125, "\(result)", sourceLocation: sourceLocation)
        #expect(result.errors.count == 1, "\(result)", sourceLocation: sourceLocation)
        #expect(result.errors.first?.contains(message) == true, "\(result)", sourceLocation: sourceLocation)
    }

    @Test func badNetworkDefinitionsAreRefused() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "a", "--subnet", "10.88.50.0/24"]).status == 0)
        Self.expectFailure(try lab.contain(["net", "create", "a"]), "network `a` already exists")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--subnet", "10.88.50.128/25"]), "overlaps network `a`")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--subnet", "198.51.100.0/24"]), "already routed on this host")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--subnet", "10.88.60.1/24"]), "host bits are set")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--subnet", "10.88.60.0/24", "--gateway", "10.88.61.1"]),
                           "gateway 10.88.61.1 is not a usable address in 10.88.60.0/24")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--bridge", "a-bridge-name-too-long"]), "longer than 15 characters")
        Self.expectFailure(try lab.contain(["net", "create", "b", "--bridge", "up0"]), "an interface of that name already exists")
        Self.expectFailure(try lab.contain(["net", "create", "bad/name"]), "invalid network name")
        Self.expectFailure(try lab.contain(["net", "rm", "nosuch"]), "network `nosuch` not found")
        #expect(try lab.contain(["net", "ls"]).stdout.split(separator: "\n").count == 2)
    }

    @Test func badRunOptionsLeaveNothingBehind() throws {
        let lab = try NetworkLab()
        #expect(try lab.contain(["net", "create", "tiny", "--subnet", "10.88.70.0/30"]).status == 0)
        Self.expectFailure(try lab.run(["--net", "nosuch"], ["true"]), "network `nosuch` not found")
        Self.expectFailure(try lab.run(["--net", "tiny", "--ip", "10.88.71.2"], ["true"]), "not a usable address in 10.88.70.0/30")
        Self.expectFailure(try lab.run(["--net", "tiny", "--ip", "10.88.70.1"], ["true"]), "is the network's gateway")
        Self.expectFailure(try lab.run(["--net", "tiny", "--ip", "nonsense"], ["true"]), "invalid --ip")
        Self.expectFailure(try lab.run(["--net", "none", "--ip", "10.88.70.2"], ["true"]), "need a bridge network")
        Self.expectFailure(try lab.run(["--net", "tiny", "--name=-bad"], ["true"]), "invalid --name")
        Self.expectFailure(try lab.run(["--net", "tiny", "-p", "80"], ["true"]), "invalid -p `80`")
        Self.expectFailure(try lab.run(["--net", "tiny", "-p", "8080:80/sctp"], ["true"]), "invalid -p")
        Self.expectFailure(try lab.run(["--net", "tiny", "-p", "70000:80"], ["true"]), "invalid -p")
        Self.expectFailure(try lab.run(["--net", "tiny", "-p", "8080:80", "-p", "8080:81"], ["true"]), "port 8080/tcp is published twice")
        Self.expectFailure(try lab.run(["--net", "tiny", "--mac-address", "01:00:5e:00:00:01"], ["true"]), "invalid --mac-address")
        Self.expectFailure(try lab.run(["--net", "tiny", "--mac-address", "02:42:0a:58:46:01"], ["true"]), "is the network's bridge's")

        // --mac-address: the container's eth0 has it, and net inspect says so.
        let holder = try lab.startRun(["--net", "tiny", "--name", "only", "--mac-address", "92:d0:c6:0a:29:33"],
                                      ["sh", "-c", "cat /sys/class/net/eth0/address; echo ready; sleep 3"])
        #expect(holder.waitForOutput("ready"))
        #expect(holder.stdoutSoFar.hasPrefix("92:d0:c6:0a:29:33\n"), "\(holder.stdoutSoFar)")
        #expect(try lab.contain(["net", "inspect", "tiny"]).stdout.contains(" 92:d0:c6:0a:29:33 "))
        Self.expectFailure(try lab.run(["--net", "tiny"], ["true"]), "no free address left in 10.88.70.0/30")
        Self.expectFailure(try lab.run(["--net", "bridge", "--name", "only"], ["true"]), "the name `only` is already in use")
        Self.expectFailure(try lab.run(["--net", "tiny", "--ip", "10.88.70.2"], ["true"]), "already leased")
        #expect(lab.leases(network: "tiny").count == 1)
        _ = try holder.wait()
        #expect(try lab.hostVeths().count <= 1)
        try lab.expectClean(network: "tiny")
        try lab.expectClean(network: "contain")
    }
}

extension NetworkTests {
    /// The rules of `chain` in an `nft list` of contain's table, trimmed ([] when the chain is
    /// empty; nil when it is not there).
    static func rules(of chain: String, in table: String) -> [String]? {
        let lines = table.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let start = lines.firstIndex(of: "chain \(chain) {") else { return nil }
        return Array(lines[(start + 1)...].prefix { $0 != "}" }.filter { !$0.isEmpty })
    }

    /// Each container's published ports come and go by themselves (#17): two detached containers
    /// publish on one network, each through a chain of its own that `ports` jumps to; removing
    /// one leaves the other's port answering and only its chain in the table; removing the last
    /// leaves `ports` empty.
    @Test func eachContainersPortsComeAndGoWithItsOwnChain() throws {
        let lab = try NetworkLab()
        defer { _ = try? lab.contain(["rm", "-f", "one", "two"]) }
        func start(_ name: String, port: Int) throws -> String {
            let started = try lab.contain(["run", "-d", "-q", "--rootfs", Harness.rootfs, "--cgroup-parent", lab.sandbox.cgroupParent,
                                           "--net", "bridge", "--name", name, "-p", "\(port):80", "--", "sh", "-c",
                                           "mkdir /tmp/www; echo served by \(name) > /tmp/www/index.html; exec httpd -f -p 80 -h /tmp/www"])
            try #require(started.status == 0, "\(started)")
            return started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func fetch(_ port: Int) -> String? {
            try? lab.fetch("http://\(NetworkLab.hostAddress):\(port)/index.html", from: lab.upstream)
        }
        let one = try start("one", port: 18101)
        let two = try start("two", port: 18102)
        let chainOne = "ports-" + one.prefix(12), chainTwo = "ports-" + two.prefix(12)
        #expect(eventually { fetch(18101) == "served by one\n" }, "\(fetch(18101) ?? "")")
        #expect(eventually { fetch(18102) == "served by two\n" }, "\(fetch(18102) ?? "")")
        let both = try lab.nftTable()
        // (nft lists `meta l4proto tcp th dport` as `tcp dport`.)
        #expect(Self.rules(of: "ports", in: both) == ["jump \(chainOne) comment \"\(one)\"", "jump \(chainTwo) comment \"\(two)\""], "\(both)")
        #expect(Self.rules(of: chainOne, in: both) == ["tcp dport 18101 dnat ip to 10.88.0.2:80"], "\(both)")
        #expect(Self.rules(of: chainTwo, in: both) == ["tcp dport 18102 dnat ip to 10.88.0.3:80"], "\(both)")

        let rmOne = try lab.contain(["rm", "-f", "one"])
        #expect(rmOne.status == 0, "\(rmOne)")
        #expect(eventually { (try? lab.nftTable()).map { Self.rules(of: chainOne, in: $0) == nil } ?? false }, "\((try? lab.nftTable()) ?? "")")
        let remaining = try lab.nftTable()
        #expect(Self.rules(of: "ports", in: remaining) == ["jump \(chainTwo) comment \"\(two)\""], "\(remaining)")
        #expect(Self.rules(of: chainTwo, in: remaining) == ["tcp dport 18102 dnat ip to 10.88.0.3:80"], "\(remaining)")
        #expect(!remaining.contains("dport 18101"), "\(remaining)")
        #expect(fetch(18102) == "served by two\n")

        let rmTwo = try lab.contain(["rm", "-f", "two"])
        #expect(rmTwo.status == 0, "\(rmTwo)")
        #expect(eventually { (try? lab.nftTable()).map { Self.rules(of: "ports", in: $0) == [] } ?? false }, "\((try? lab.nftTable()) ?? "")")
        let last = try lab.nftTable()
        #expect(!last.contains("chain ports-") && !last.contains("dnat ip"), "nothing left behind: \(last)")
        #expect(last.contains("chain net-contain"), "the network's own rules stay")
        try lab.expectClean()
    }
}
