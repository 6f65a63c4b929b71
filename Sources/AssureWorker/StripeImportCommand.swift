import ArgumentParser
import Consumers
import Foundation
import Shared
import WorkerRuntime

/// `assure-worker stripe-import FILE`: publishes Stripe events from an export to the Stripe topic.
struct StripeImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stripe-import",
        abstract: "Publish Stripe events from a file to the Stripe topic, keyed by customer.",
        discussion: """
            FILE is a page of GET /v1/events ({"object": "list", "data": [...]}), a JSON array of events, or one \
            event per line. Each valid event is published to <prefix>stripe.v1 keyed by data.object.customer; \
            events without a customer are skipped. Prints progress on stderr and a summary; publishes the valid \
            events even when some are invalid, and exits 1 if any was invalid (or could not be published).

            Examples:
              assure-worker stripe-import events.json
              stripe events list --limit 100 > page.json && assure-worker stripe-import page.json
            """)

    @Argument(help: "The file of Stripe events.")
    var file: String

    func run() async throws {
        let config = try AssureConfiguration.fromEnvironment()
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ValidationError("cannot read \(file): \(error.localizedDescription)")
        }
        let entries = StripeEventFile.read(data)
        var messages: [OutboundMessage] = []
        var skipped = 0
        var invalid = 0
        for entry in entries {
            switch entry {
            case .event(_, let customer, let json):
                messages.append(OutboundMessage(topic: config.worker.topics.stripe, key: Array(customer.utf8), value: json))
            case .withoutCustomer(let id):
                skipped += 1
                FileHandle.standardError.write(Data("skipped \(id): no data.object.customer\n".utf8))
            case .invalid(let position, let reason):
                invalid += 1
                FileHandle.standardError.write(Data("invalid \(position): \(reason)\n".utf8))
            }
        }
        let logger = WorkerLogging.makeLogger("assure.stripe-import")
        let producer = try KafkaProducer(configuration: config.kafkaConfiguration, logger: logger)
        var published = 0
        var failed = 0
        var lastProgress = ContinuousClock.now
        for start in stride(from: 0, to: messages.count, by: 1000) {
            let chunk = Array(messages[start..<min(start + 1000, messages.count)])
            for result in await producer.send(chunk) {
                switch result {
                case .success: published += 1
                case .failure(let error):
                    failed += 1
                    FileHandle.standardError.write(Data("not published: \(error)\n".utf8))
                }
            }
            if ContinuousClock.now - lastProgress >= .seconds(1) || start + chunk.count == messages.count {
                lastProgress = ContinuousClock.now
                FileHandle.standardError.write(Data("published \(published) of \(messages.count)\n".utf8))
            }
        }
        await producer.shutdown()
        print(
            "stripe-import: published \(published), skipped without a customer \(skipped), invalid \(invalid)"
                + (failed > 0 ? ", not published \(failed)" : "") + " (topic \(config.worker.topics.stripe))")
        if invalid > 0 || failed > 0 { throw ExitCode(1) }
    }
}
