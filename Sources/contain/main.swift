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
ContainCLI.main(Array(arguments.dropFirst()))
