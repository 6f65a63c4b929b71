import Consumers
import Foundation
import Logging
import Shared
import TestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the real-broker suite needs beyond the mock-cluster helpers: the Tansu broker, worker processes
/// with their admin API (for `/metrics`), paced publishing, and kcat.
enum RealBroker {
    /// Whether the suite is configured: `scripts/real-broker-env.sh` sets `ASSURE_TANSU_BIN` (and puts
    /// librdkafka 2.16 on `LD_LIBRARY_PATH`).
    static var configured: Bool { !(ProcessInfo.processInfo.environment["ASSURE_TANSU_BIN"] ?? "").isEmpty }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A fresh database and topic prefix on the process's Tansu broker.
    static func environment(partitions: Int) async throws -> WorkerTestEnvironment {
        guard TansuTestBroker.libraryCanTalkToTansu else {
            throw Failure(
                description: "librdkafka \(KafkaLibrary.version) is loaded and cannot talk to Tansu: run under scripts/real-broker-env.sh")
        }
        return try await WorkerTestEnvironment.make(partitions: partitions, broker: try await TansuTestBroker.shared())
    }

    /// A worker process of `env`'s group with its admin API on a free loopback port.
    static func worker(_ env: WorkerTestEnvironment, settleMs: Int64) throws -> (worker: ChildWorker, port: Int) {
        let port = try PostgresTestServer.freeLoopbackPort()
        var overrides = ["ASSURE_HTTP_PORT": String(port)]
        // ASSURE_TEST_WORKER_LOG_LEVEL=info shows the workers' rebalances when a scenario fails.
        if let level = ProcessInfo.processInfo.environment["ASSURE_TEST_WORKER_LOG_LEVEL"] { overrides["ASSURE_LOG_LEVEL"] = level }
        return (try ChildWorker(env: env, settleMs: settleMs, overrides: overrides), port)
    }

    /// The worker's `/metrics` text, or nil while its admin API does not answer.
    static func metrics(port: Int) async -> String? {
        guard let url = URL(string: "http://127.0.0.1:\(port)/metrics"),
            let (data, response) = try? await URLSession.shared.data(from: url),
            (response as? HTTPURLResponse)?.statusCode == 200
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The samples of metric `name` whose labels include `topic="<topic>"`, by their `partition`
    /// label (or by `""` when there is none).
    static func samples(_ text: String, name: String, topic: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix(name + "{") {
            guard let close = line.lastIndex(of: "}"), let value = Double(line[line.index(after: close)...].trimmingCharacters(in: .whitespaces))
            else { continue }
            let labels = line[line.index(line.startIndex, offsetBy: name.count + 1)..<close]
            var parsed: [String: String] = [:]
            for pair in labels.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                parsed[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            }
            guard parsed["topic"] == topic else { continue }
            result[parsed["partition"] ?? "", default: 0] += value
        }
        return result
    }

    /// The partitions of `topic` the worker on `port` reports consumer lag for (nil: API not answering).
    static func lagPartitions(port: Int, topic: String) async -> Set<Int32>? {
        guard let text = await metrics(port: port) else { return nil }
        return Set(samples(text, name: "assure_consumer_lag_records", topic: topic).keys.compactMap { Int32($0) })
    }

    /// How many records of `topic` the worker on `port` was handed (nil: API not answering).
    static func consumed(port: Int, topic: String) async -> Int64? {
        guard let text = await metrics(port: port) else { return nil }
        return Int64(samples(text, name: "assure_records_consumed_total", topic: topic).values.reduce(0, +))
    }

    /// Publishes `messages` (a slice of the whole stream: its `startIndex` messages went before) through
    /// one producer in chunks of `chunk`, and returns how many it had published when `condition` first
    /// held (the rest are not sent) or, when it never held, all of them. With `paced`, each chunk waits
    /// until the group has consumed everything before it, so the stream spans rebalances instead of
    /// racing ahead of them. Bounded by the messages: no loop of its own.
    static func publish(
        _ env: WorkerTestEnvironment, _ messages: ArraySlice<OutboundMessage>, chunk: Int, paced: Bool = false,
        until condition: () async -> Bool
    ) async throws -> Int {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: [env.cluster.bootstrapServers], clientID: "assure-test-traffic"),
            logger: env.logger)
        do {
            var sent = messages.startIndex
            while sent < messages.endIndex, !(await condition()) {
                let end = min(sent + chunk, messages.endIndex)
                for result in await producer.send(Array(messages[sent..<end])) { _ = try result.get() }
                sent = end
                if paced { try await WorkerProbe.waitForConsumption(env, count: sent) }
            }
            await producer.shutdown()
            return sent - messages.startIndex
        } catch {
            await producer.shutdown()
            throw error
        }
    }

    /// Polls `condition` every 100 ms until it holds, failing after `timeout` with what `state` says.
    static func eventually(
        _ what: String, timeout: Duration = .seconds(90), state: () async -> String = { "" },
        _ condition: () async -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !(await condition()) {
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "timed out after \(timeout) waiting for \(what); \(await state())")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Which ledger partitions each worker reports lag for, for failure messages.
    static func lagState(_ env: WorkerTestEnvironment, ports: [Int]) async -> String {
        var parts: [String] = []
        for port in ports {
            let owned = await lagPartitions(port: port, topic: env.topics.ledger)
            parts.append("worker :\(port) lag partitions \(owned.map { $0.sorted().description } ?? "unreachable")")
        }
        return parts.joined(separator: ", ")
    }

    /// Runs kcat (`timeout` bounds it: a consumer that never reaches its count must not hang the suite).
    static func kcat(_ arguments: [String], seconds: Int = 60) async throws -> (status: Int32, output: String) {
        try await ChildWorker.run(URL(fileURLWithPath: "/usr/bin/env"), ["timeout", String(seconds), "kcat"] + arguments)
    }
}
