import CheckPipeline
import Logging
import Metrics
import Persistence
import PostgresNIO
import Shared

/// Input health as the workers keep it in PostgreSQL (contract, *Input health*): every consumed
/// batch records a delivery of its inputs, every batch and sweep reads the `InputClock` that holds
/// checks on silent inputs, and the sweeper opens and resolves the `input-stalled` issues.
public struct InputHealth: Sendable {
    let client: PostgresClient
    let settings: WorkerSettings
    let logger: Logger

    public init(client: PostgresClient, settings: WorkerSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.logger = logger
    }

    /// Silences shorter than this are not remembered, so a held check's resume time is exact to
    /// within it (a fraction of the settle time, at most a second).
    var silenceMs: Int64 { max(1, min(1000, settings.checks.settleMs / 4)) }

    /// The inputs among the records' topics.
    func inputs(of records: [InboundRecord]) -> [InputTopic] {
        var found = Set<InputTopic>()
        var topics = Set<String>()
        for record in records where topics.insert(record.topic).inserted {
            if let input = InputTopic(topic: record.topic, in: settings.topics) { found.insert(input) }
        }
        return found.sorted { $0.rawValue < $1.rawValue }
    }

    /// Records that the records' inputs delivered now; a failure is logged (it can only hold checks
    /// longer, never lose a record).
    public func recordDelivery(of records: [InboundRecord], atMs: Int64 = WallClock.nowMs()) async {
        let inputs = inputs(of: records)
        guard !inputs.isEmpty else { return }
        let (client, logger, silenceMs) = (self.client, self.logger, self.silenceMs)
        do {
            try await settings.databaseDeadline.run("recording input deliveries") {
                try await client.withConnection { connection in
                    try await InputHealthRepository.recordDelivery(
                        inputs: inputs.map(\.rawValue), atMs: atMs, silenceMs: silenceMs, on: connection, logger: logger)
                }
            }
        } catch {
            logger.warning("Recording input deliveries failed", metadata: ["assure.error": "\(error)"])
        }
    }

    /// Records that records applied at `sinceMs` wait on `inputs` (for the stall rules).
    func recordWaiters(_ inputs: Set<InputTopic>, sinceMs: Int64) async {
        guard !inputs.isEmpty else { return }
        let (client, logger) = (self.client, self.logger)
        do {
            try await settings.databaseDeadline.run("recording input waiters") {
                try await client.withConnection { connection in
                    try await InputHealthRepository.recordWaiters(
                        inputs: inputs.map(\.rawValue).sorted(), sinceMs: sinceMs, on: connection, logger: logger)
                }
            }
        } catch {
            logger.warning("Recording input waiters failed", metadata: ["assure.error": "\(error)"])
        }
    }

    /// The clock the pipeline holds checks by.
    static func clock(on connection: PostgresConnection, logger: Logger) async throws -> InputClock {
        clock(from: try await InputHealthRepository.load(on: connection, logger: logger))
    }

    static func clock(from rows: [InputHealthRepository.Row]) -> InputClock {
        var inputs: [InputTopic: InputClock.Input] = [:]
        for row in rows {
            guard let input = InputTopic(rawValue: row.input) else { continue }
            inputs[input] = InputClock.Input(
                lastDeliveredMs: row.lastDeliveredMs,
                silences: row.silences.map { InputClock.Silence(fromMs: $0.fromMs, resumedAtMs: $0.resumedAtMs) })
        }
        return .tracked(inputs)
    }

    static func lastDelivered(_ rows: [InputHealthRepository.Row]) -> [InputTopic: Int64] {
        var result: [InputTopic: Int64] = [:]
        for row in rows {
            if let input = InputTopic(rawValue: row.input), let last = row.lastDeliveredMs { result[input] = last }
        }
        return result
    }

    /// What waits on each input (the contract's three stall rules).
    static let waitedOnBy: [InputTopic: String] = [
        .webhooks: "ledger rows with a Stripe event id", .accounts: "ledger rows",
        .ledger: "account snapshots with changed credits",
    ]

    /// Opens `input-stalled:<input>` for an input that a waiting record has waited on for the stall
    /// time, and resolves it once the input delivered again; returns the issue events.
    func evaluateStalls(nowMs: Int64, on connection: PostgresConnection) async throws -> [IssueEvent] {
        let rows = try await InputHealthRepository.load(locking: true, on: connection, logger: logger)
        var changes: [IssueChange] = []
        for row in rows {
            guard let input = InputTopic(rawValue: row.input) else { continue }
            let stalled = row.waitingSinceMs.map { addingClamped($0, settings.stallMs) <= nowMs } ?? false
            guard stalled != row.stallOpen else { continue }
            let issueId = CheckKind.inputStalled.issueId(input.rawValue)
            if stalled, let since = row.waitingSinceMs {
                let topic = input.topic(in: settings.topics)
                changes.append(
                    IssueChange(
                        issueId: issueId, check: .inputStalled, userId: nil, kind: .open,
                        title: "No \(input.rawValue) record delivered for \(settings.stallMs / 1000) s while \(Self.waitedOnBy[input] ?? "records") wait on it",
                        evidence: .object([
                            "input": .string(input.rawValue), "topic": .string(topic),
                            "waitingSince": .string(Timestamp.format(since)),
                            "lastDeliveredAt": row.lastDeliveredMs.map { .string(Timestamp.format($0)) } ?? .null,
                            "stallMs": .int(settings.stallMs),
                        ]), repair: nil, atMs: nowMs))
            } else {
                changes.append(
                    IssueChange(issueId: issueId, check: .inputStalled, userId: nil, kind: .resolve(.selfHealed), atMs: nowMs))
            }
            try await InputHealthRepository.setStallOpen(stalled, input: row.input, on: connection, logger: logger)
        }
        guard !changes.isEmpty else { return [] }
        let events = try await IssueRepository.apply(changes, on: connection, logger: logger)
        try await OutboxRepository.append(
            events.map { IssueOutbox.message(for: $0, topics: settings.topics) }, on: connection, logger: logger)
        return events
    }

    /// Per input, seconds since a record was last delivered (absent until the first delivery).
    static func recordMetrics(_ rows: [InputHealthRepository.Row], nowMs: Int64) {
        for row in rows {
            guard let last = row.lastDeliveredMs else { continue }
            Gauge(label: "assure_input_last_delivered_age_seconds", dimensions: [("input", row.input)])
                .record(Double(max(0, nowMs - last)) / 1000)
        }
    }
}

private func addingClamped(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? .max : sum
}
