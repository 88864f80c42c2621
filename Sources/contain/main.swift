import ContainRuntime
import ContainSystem

StartTimings.processStart = StartTimings.now()

// Never CommandLine.arguments: see ProcessArguments.
let arguments = ProcessArguments.all
// The re-executed init must not pay for argument parsing: it is picked out first.
if arguments.count == 2 && arguments[1] == ContainerInit.argument {
    ContainerInit.main()
}
if arguments.count == 2 && arguments[1] == ContainerExec.argument {
    ContainerExec.helperMain()
}
// So is the name server, which a bridged start may be waiting for.
if arguments.count == 3 && arguments[1] == NameServerProcess.argument {
    NameServerProcess.main(directory: arguments[2])
}
ContainCLI.main(Array(arguments.dropFirst()))
