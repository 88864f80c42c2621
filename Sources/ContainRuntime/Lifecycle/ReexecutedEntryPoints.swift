/// What the engine re-executes its own binary (`/proc/self/exe`) as: the container's init,
/// exec's helper and the name server. Each front end (`contain`, `contain-oci`) hands its
/// arguments here first, before any argument parsing: the init must not pay for it, and a
/// bridged start may be waiting for the name server.
public enum ReexecutedEntryPoints {
    /// Runs, and never returns from, the entry point `arguments` name; returns when they name
    /// none.
    public static func dispatch(_ arguments: [String]) {
        if arguments.count == 2 && arguments[1] == ContainerInit.argument {
            ContainerInit.main()
        }
        if arguments.count == 2 && arguments[1] == ContainerExec.argument {
            ContainerExec.helperMain()
        }
        if arguments.count == 3 && arguments[1] == NameServerProcess.argument {
            NameServerProcess.main(directory: arguments[2])
        }
    }
}
