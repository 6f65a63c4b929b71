import ArgumentParser
import Consumers
import Shared

@main
struct AssureWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assure-worker",
        abstract: "Billing & entitlement assurance worker.",
        discussion: """
            Every setting comes from the environment (ASSURE_*); see the README. Start with `demo` to see the \
            whole system on the embedded default.
            """,
        version: versionLine,
        subcommands: [
            RunCommand.self, MigrateCommand.self, KafkaDevCommand.self, ReportCommand.self, RepairCLICommand.self,
            ExplainCLICommand.self, AckCLICommand.self, SnoozeCLICommand.self, GateCommand.self, WatchCommand.self,
            AuditCommand.self, BootstrapCommand.self, DemoCommand.self, StripeImportCommand.self,
            BenchCommand.self, HealthcheckCommand.self,
        ]
    )

    /// `assure-worker 0.1.0 (librdkafka 2.0.2)`: the librdkafka actually loaded, which `LD_LIBRARY_PATH`
    /// can change without a rebuild.
    static var versionLine: String { "assure-worker \(AssureVersion.current) (librdkafka \(KafkaLibrary.version))" }

    /// ArgumentParser's own `main`, after installing the log handler (`ASSURE_LOG_FORMAT`) so every
    /// logger of every subcommand writes the chosen format.
    static func main() async {
        WorkerLogging.bootstrap()
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
