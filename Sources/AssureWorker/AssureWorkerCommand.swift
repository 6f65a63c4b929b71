import ArgumentParser

@main
struct AssureWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assure-worker",
        abstract: "Billing & entitlement assurance worker.",
        discussion: """
            Every setting comes from the environment (ASSURE_*); see the README. Start with `demo` to see the \
            whole system on the embedded default.
            """,
        subcommands: [
            RunCommand.self, MigrateCommand.self, KafkaDevCommand.self, ReportCommand.self, RepairCLICommand.self,
            ExplainCLICommand.self, AckCLICommand.self, SnoozeCLICommand.self, GateCommand.self, WatchCommand.self,
            AuditCommand.self, DemoCommand.self, StripeImportCommand.self,
        ]
    )
}
