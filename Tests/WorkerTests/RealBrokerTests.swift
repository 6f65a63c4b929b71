import CheckPipeline
import Consumers
import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The consumer-group claims against a real broker process: Tansu 0.6, with librdkafka 2.16 loaded by
/// this process, by the worker processes and by kcat. `scripts/test.sh` runs this suite after the main
/// one, under `scripts/real-broker-env.sh` (`swift test --skip-build --filter RealBrokerTests`); without
/// that environment (`ASSURE_TANSU_BIN`) it is disabled, since Debian's librdkafka 2.0.2 cannot talk to
/// Tansu. The same scenarios run on the mock cluster in the main suite.
@Suite(
    .serialized, .timeLimit(.minutes(5)),
    .enabled(if: RealBroker.configured, "needs Tansu and librdkafka 2.16: run under scripts/real-broker-env.sh"))
struct RealBrokerTests {
    static let settleMs: Int64 = 300

    @Test func everyCheckOpensAndSelfHealsEndToEndOnTansu() async throws {
        try await EndToEndCheckTests.everyCheckScenario(try await RealBroker.environment(partitions: 4))
    }

    @Test func twoWorkerProcessesSplitThePartitionsAndEachReportsLagOnlyForItsOwn() async throws {
        let env = try await RealBroker.environment(partitions: 6)
        let traffic = ClusterTests.traffic(users: 300)
        let messages = traffic.messages(topics: env.topics)
        _ = try await env.withDatabase { try await $0.migrate() }
        let (first, firstPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let (second, secondPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let all = Set((0..<6).map(Int32.init))
        let ledger = env.topics.ledger
        @Sendable func split() async -> Bool {
            guard let a = await RealBroker.lagPartitions(port: firstPort, topic: ledger),
                let b = await RealBroker.lagPartitions(port: secondPort, topic: ledger)
            else { return false }
            return !a.isEmpty && !b.isEmpty && a.isDisjoint(with: b) && a.union(b) == all
        }
        try first.start()
        do {
            // The first worker alone owns, and reports lag for, every partition.
            var sent = try await RealBroker.publish(env, messages[...], chunk: 200, paced: true) {
                await RealBroker.lagPartitions(port: firstPort, topic: ledger) == all
            }
            try await RealBroker.eventually("the first worker's lag for every ledger partition") {
                await RealBroker.lagPartitions(port: firstPort, topic: ledger) == all
            }
            // The second joins: the partitions it takes leave the first worker's lag gauges.
            try second.start()
            sent += try await RealBroker.publish(env, messages[sent...], chunk: 200, paced: true, until: split)
            try await RealBroker.eventually(
                "the two workers to split the ledger partitions",
                state: { await RealBroker.lagState(env, ports: [firstPort, secondPort]) }, split)
            sent += try await RealBroker.publish(env, messages[sent...], chunk: 5000) { false }
            #expect(sent == messages.count)
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
            #expect(await split(), "each worker reports lag only for the partitions it owns")
            await first.terminate()
            await second.terminate()
        } catch {
            await first.terminate()
            await second.terminate()
            throw error
        }
        try await Self.expectOraclesResult(env, traffic: traffic)
    }

    @Test func aWorkerKilledWithSigkillMidStreamIsReplacedByTheSurvivorAndTheResultIsTheOracles() async throws {
        let env = try await RealBroker.environment(partitions: 4)
        let traffic = ClusterTests.traffic(users: 400)
        let messages = traffic.messages(topics: env.topics)
        _ = try await env.withDatabase { try await $0.migrate() }
        let (victim, victimPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let (survivor, survivorPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let all = Set((0..<4).map(Int32.init))
        let ledger = env.topics.ledger
        try victim.start()
        try survivor.start()
        do {
            // Both own partitions (each reports lag for some) before the kill.
            var sent = try await RealBroker.publish(env, messages[...], chunk: 200, paced: true) {
                guard let a = await RealBroker.lagPartitions(port: victimPort, topic: ledger),
                    let b = await RealBroker.lagPartitions(port: survivorPort, topic: ledger)
                else { return false }
                return !a.isEmpty && !b.isEmpty && a.union(b) == all
            }
            #expect(sent < messages.count, "the stream ended before both workers owned partitions")
            await victim.kill()
            let atKill = try await Self.ledgerOffsets(env)
            let consumedAtKill = try await WorkerProbe.consumed(env)
            sent += try await RealBroker.publish(env, messages[sent...], chunk: 5000) { false }
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
            #expect(consumedAtKill < messages.count, "the kill came after the stream was consumed")
            // The victim is dead: every ledger partition moving past where it stood at the kill, the
            // victim's included, was the survivor's work.
            let final = try await Self.ledgerOffsets(env)
            for partition in all {
                #expect((final[partition] ?? 0) > (atKill[partition] ?? 0), "ledger partition \(partition) did not move after the kill")
            }
            await survivor.terminate()
        } catch {
            await victim.kill()
            await survivor.terminate()
            throw error
        }
        try await Self.expectOraclesResult(env, traffic: traffic)
    }

    @Test func aGracefulLeaveMidStreamHandsOverWithNothingProcessedTwice() async throws {
        let env = try await RealBroker.environment(partitions: 4)
        let traffic = ClusterTests.traffic(users: 300)
        let messages = traffic.messages(topics: env.topics)
        _ = try await env.withDatabase { try await $0.migrate() }
        let (stayer, stayerPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let (leaver, leaverPort) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let collector = try env.collector()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await collector.run() }
            do {
                try await Self.leaveGracefully(
                    env, messages: messages, stayer: (stayer, stayerPort), leaver: (leaver, leaverPort), collector: collector)
                collector.close()
                try await tasks.waitForAll()
            } catch {
                collector.close()
                tasks.cancelAll()
                throw error
            }
        }
        // Every issue event exactly once: no version of any issue published twice.
        var seen: [String: Int] = [:]
        for event in collector.decoded(IssueEvent.self, topic: env.topics.issues) {
            seen["\(event.issueId)@\(event.version)", default: 0] += 1
        }
        let twice = seen.filter { $0.value > 1 }.keys.sorted()
        #expect(twice.isEmpty, "published more than once: \(twice.prefix(10))")
        #expect(seen.count == (try await Self.issueEventCount(env)))
        try await Self.expectOraclesResult(env, traffic: traffic)
    }

    @Test func aWorkerRestartedAfterTheStreamResumesFromPostgresOffsets() async throws {
        let env = try await RealBroker.environment(partitions: 4)
        let traffic = ClusterTests.traffic(users: 200)
        let messages = traffic.messages(topics: env.topics)
        let half = messages.count / 2
        _ = try await env.withDatabase { try await $0.migrate() }
        let (worker, port) = try RealBroker.worker(env, settleMs: Self.settleMs)
        try worker.start()
        do {
            _ = try await RealBroker.publish(env, messages[..<half], chunk: 5000) { false }
            try await WorkerProbe.waitForConsumption(env, count: half)
            await worker.terminate()
            // The group commits nothing to Kafka: only PostgreSQL's offsets can keep the restarted
            // worker from reading the first half again (auto.offset.reset is earliest).
            try worker.start()
            _ = try await RealBroker.publish(env, messages[half...], chunk: 5000) { false }
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
            var handed: Int64 = 0
            try await RealBroker.eventually("the restarted worker's consumed counters") {
                handed = 0
                for topic in env.topics.inputs {
                    guard let count = await RealBroker.consumed(port: port, topic: topic) else { return false }
                    handed += count
                }
                return handed >= Int64(messages.count - half)
            }
            #expect(handed == Int64(messages.count - half), "the restarted worker read \(handed) records, not just the second half")
            await worker.terminate()
        } catch {
            await worker.terminate()
            throw error
        }
        try await Self.expectOraclesResult(env, traffic: traffic)
    }

    @Test func kcatOnLibrdkafka216ProducesInputAndReadsTheIssueTheWorkerPublished() async throws {
        #expect(KafkaLibrary.version.hasPrefix("2.16."), "this process loaded librdkafka \(KafkaLibrary.version)")
        let version = try await RealBroker.kcat(["-V"], seconds: 10)
        #expect(version.output.contains("librdkafka 2.16."), "kcat -V: \(version.output)")
        let env = try await RealBroker.environment(partitions: 3)
        _ = try await env.withDatabase { try await $0.migrate() }
        let (worker, _) = try RealBroker.worker(env, settleMs: Self.settleMs)
        let now = WallClock.nowMs()
        let rows = [
            LedgerRow(id: "kcat_1", userId: "u_kcat", seq: 1, type: .purchase, amount: 500, balanceAfter: 500, createdAtMs: now - 3000),
            LedgerRow(id: "kcat_3", userId: "u_kcat", seq: 3, type: .usage, amount: -5, balanceAfter: 490, createdAtMs: now - 1000),
        ]
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("assure-kcat-\(UUID().uuidString).txt")
        defer { try? FileManager.default.removeItem(at: input) }
        try rows.map { "\($0.userId)\t\(String(decoding: BillingJSON.ledger($0), as: UTF8.self))\n" }.joined()
            .write(to: input, atomically: true, encoding: .utf8)
        try worker.start()
        do {
            let produced = try await RealBroker.kcat(
                ["-P", "-b", env.cluster.bootstrapServers, "-t", env.topics.ledger, "-K", "\t", "-l", input.path])
            #expect(produced.status == 0, "kcat -P: \(produced.output)")
            // A gap waits on the ledger (contract, *Input health*): it is held until the ledger delivers
            // again after the rows, as a live ledger would.
            try await WorkerProbe.waitForConsumption(env, count: rows.count)
            try await env.publishHeartbeat()
            let gap = CheckKind.ledgerSequenceGap.issueId("u_kcat", "2")
            try await WorkerProbe.poll(env, timeout: .seconds(60), "the gap issue") { connection in
                try await IssueRepository.open(on: connection, logger: env.logger).contains { $0.issueId == gap }
            }
            try await WorkerProbe.waitForEmptyOutbox(env)
            let events = try await Self.issueEventCount(env)
            let read = try await RealBroker.kcat(
                ["-C", "-b", env.cluster.bootstrapServers, "-t", env.topics.issues, "-o", "beginning", "-c", String(events),
                 "-f", "%k\t%s\n"])
            #expect(read.status == 0, "kcat -C: \(read.output)")
            let line = read.output.split(separator: "\n").first { $0.hasPrefix(gap + "\t") }
            let event = try line.map { try JSONDecoder().decode(IssueEvent.self, from: Data($0.dropFirst(gap.count + 1).utf8)) }
            #expect(event?.status == .open, "kcat read: \(read.output)")
            #expect(event?.check == .ledgerSequenceGap)
            await worker.terminate()
        } catch {
            await worker.terminate()
            throw error
        }
    }

    @Test func theDemoRunsOnTansu() async throws {
        let (status, text) = try await ChildWorker.run(
            try ChildWorker.executableURL(),
            ["demo", "--real-broker", "--users", "150", "--events-per-user", "10", "--settle-ms", "1000"])
        #expect(status == 0, "demo output:\n\(text)")
        #expect(text.contains("Tansu"))
        #expect(text.contains("librdkafka 2.16."))
        #expect(text.contains("4 repairs applied"))
        #expect(text.contains("audit clean"))
    }

    /// Both workers own partitions, then `leaver` gets SIGTERM (it finishes its batch, relays its outbox
    /// and leaves the group) while the stream goes on; returns once the stayer has everything and the
    /// collector has every issue event.
    static func leaveGracefully(
        _ env: WorkerTestEnvironment, messages: [OutboundMessage], stayer: (worker: ChildWorker, port: Int),
        leaver: (worker: ChildWorker, port: Int), collector: TopicCollector
    ) async throws {
        let all = Set((0..<4).map(Int32.init))
        let ledger = env.topics.ledger
        try stayer.worker.start()
        try leaver.worker.start()
        do {
            let sent = try await RealBroker.publish(env, messages[...], chunk: 200, paced: true) {
                guard let a = await RealBroker.lagPartitions(port: stayer.port, topic: ledger),
                    let b = await RealBroker.lagPartitions(port: leaver.port, topic: ledger)
                else { return false }
                return !a.isEmpty && !b.isEmpty && a.union(b) == all
            }
            #expect(sent < messages.count, "the stream ended before both workers owned partitions")
            await leaver.worker.terminate()
            let atLeave = try await ledgerOffsets(env)
            _ = try await RealBroker.publish(env, messages[sent...], chunk: 5000) { false }
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
            let final = try await ledgerOffsets(env)
            for partition in all {
                #expect((final[partition] ?? 0) > (atLeave[partition] ?? 0), "ledger partition \(partition) did not move after the leave")
            }
            try await WorkerProbe.waitForEmptyOutbox(env)
            let published = try await issueEventCount(env)
            let arrived = await collector.wait(timeout: .seconds(60)) {
                $0.messages(on: env.topics.issues).count >= published
            }
            #expect(arrived)
            await stayer.worker.terminate()
        } catch {
            await stayer.worker.terminate()
            await leaver.worker.terminate()
            throw error
        }
    }

    /// The group's stored next offset of each ledger partition.
    static func ledgerOffsets(_ env: WorkerTestEnvironment) async throws -> [Int32: Int64] {
        try await env.withDatabase { database in
            let rows = try await database.client.query(
                """
                SELECT partition, next_offset FROM assurance.consumer_offsets
                WHERE group_id = \(env.groupId) AND topic = \(env.topics.ledger)
                """)
            var result: [Int32: Int64] = [:]
            for try await (partition, next) in rows.decode((Int32, Int64).self) { result[partition] = next }
            return result
        }
    }

    /// How many issue events the workers wrote (every version of every issue is one event).
    static func issueEventCount(_ env: WorkerTestEnvironment) async throws -> Int {
        try await env.withDatabase { database in
            let rows = try await database.client.query("SELECT coalesce(sum(version), 0)::bigint FROM assurance.issues")
            for try await total in rows.decode(Int64.self) { return Int(total) }
            return 0
        }
    }

    /// Every ledger row applied once, and the open issues and their evidence those of the batch oracle.
    static func expectOraclesResult(_ env: WorkerTestEnvironment, traffic: BillingTraffic) async throws {
        try await FaultDrillTests.expectOracle(env, traffic, settings: env.settings(settleMs: settleMs))
    }
}
