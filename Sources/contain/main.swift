import ContainRuntime
import ContainSystem

StartTimings.processStart = StartTimings.now()

// Never CommandLine.arguments: see ProcessArguments.
let arguments = ProcessArguments.all
// The re-executed init, exec's helper and the name server are picked out first.
ReexecutedEntryPoints.dispatch(arguments)
ContainCLI.main(Array(arguments.dropFirst()))
