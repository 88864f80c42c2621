import ContainRuntime

StartTimings.processStart = StartTimings.now()

// The re-executed init must not pay for argument parsing: it is picked out first.
if CommandLine.arguments.count == 2 && CommandLine.arguments[1] == ContainerInit.argument {
    ContainerInit.main()
}
if CommandLine.arguments.count == 2 && CommandLine.arguments[1] == ContainerExec.argument {
    ContainerExec.helperMain()
}
ContainCLI.main(CommandLine.arguments.dropFirst().map { $0 })
