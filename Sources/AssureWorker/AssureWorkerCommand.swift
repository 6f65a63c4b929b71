import ArgumentParser

@main
struct AssureWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "assure-worker",
        abstract: "Billing & entitlement assurance worker.",
        subcommands: [MigrateCommand.self, KafkaDevCommand.self]
    )
}
