import Foundation
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Poison inputs of every kind the hardening issue lists, sent through the mock cluster to two
/// workers: each is dead-lettered (or answered), both workers keep running, and a valid record behind
/// the bad input on every partition is processed.
@Suite struct PoisonDrillTests {
    @Test func poisonInputsOfEveryKindNeitherStopNorCrashTheCluster() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 4)
        try await env.withDatabase { database in
            _ = try await database.migrate()
            try await PoisonIsolationTests.installRefusals(on: database.client)
        }
        let topics = env.topics
        let t = Timestamp.format(WallClock.nowMs() - 60_000)
        func ledger(_ p: Int32, key: String = "u_bad", _ fields: String) -> OutboundMessage {
            OutboundMessage(
                topic: topics.ledger, key: Array(key.utf8),
                value: Array(#"{"seq": 1, "type": "USAGE", "amount": -1, "balanceAfter": 9, \#(fields)}"#.utf8),
                partition: p)
        }
        let long = String(repeating: "x", count: 4000)
        let future = Timestamp.format(WallClock.nowMs() + 3 * 86_400_000)
        var badInputs: [(OutboundMessage, String)] = [
            (ledger(0, #""id": "a\u0000", "userId": "u", "createdAt": "\#(t)""#), "'id' must not contain U+0000"),
            (ledger(0, #""id": "b", "userId": "u\u0000", "createdAt": "\#(t)""#), "'userId' must not contain U+0000"),
            (ledger(1, #""id": "c", "userId": "u", "stripeEventId": "e\u0000", "createdAt": "\#(t)""#), "'stripeEventId'"),
            (ledger(1, #""id": "d", "userId": "u", "reason": "r\u0000", "createdAt": "\#(t)""#), "'reason' must not contain"),
            (ledger(2, #""id": "\#(long)", "userId": "u", "createdAt": "\#(t)""#), "'id' is 4000 bytes"),
            (ledger(3, #""id": "f", "userId": "u", "createdAt": "\#(future)""#), "createdAt is in the future"),
            (ledger(3, key: "poison_drill", #""id": "g", "userId": "poison_drill", "createdAt": "\#(t)""#), "22023"),
            (
                OutboundMessage(
                    topic: topics.accounts, key: Array("u_bad".utf8),
                    value: Array(#"{"userId": "u", "role": "USER", "tier": "PRO", "credits": 1, "stripeCustomerId": "c\u0000", "updatedAt": "\#(t)"}"#.utf8),
                    partition: 0), "'stripeCustomerId'"
            ),
            (
                OutboundMessage(
                    topic: topics.webhooks, key: Array("u_bad".utf8),
                    value: Array(#"{"eventId": "e\u0000", "processedAt": "\#(t)"}"#.utf8), partition: 1), "'eventId'"
            ),
            (
                OutboundMessage(
                    topic: topics.planGates, key: Array("u_bad".utf8),
                    value: Array(#"{"feature": "f\u0000", "allowedTiers": ["PRO"], "updatedAt": "\#(t)"}"#.utf8),
                    partition: 2), "'feature'"
            ),
        ]
        // A binary key (Confluent's magic byte first) with a value that is not JSON.
        let binaryKey: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x07, 0xFF]
        badInputs.append(
            (OutboundMessage(topic: topics.ledger, key: binaryKey, value: [0x00, 0x01, 0x7B], partition: 2), "JSON"))
        let command = OutboundMessage(
            topic: topics.commands, key: Array("cmd-key".utf8),
            value: Array(#"{"commandId": "c\u0000", "issueId": "i", "reason": "r", "actor": {"id": "a", "role": "ADMIN"}, "requestedAt": "\#(t)", "signature": ""}"#.utf8),
            partition: 0)
        // Behind every bad input, on every partition of every input topic: a valid record.
        var validInputs: [OutboundMessage] = []
        for p in Int32(0)..<4 {
            validInputs.append(ledger(p, key: "after_\(p)", #""id": "ok_\#(p)", "userId": "after_\#(p)", "createdAt": "\#(t)""#))
            validInputs.append(
                OutboundMessage(
                    topic: topics.accounts, key: Array("acct_\(p)".utf8),
                    value: Array(#"{"userId": "acct_\#(p)", "role": "USER", "tier": "FREE", "credits": 0, "updatedAt": "\#(t)"}"#.utf8),
                    partition: p))
            validInputs.append(
                OutboundMessage(
                    topic: topics.webhooks, key: Array("evt_\(p)".utf8),
                    value: Array(#"{"eventId": "evt_\#(p)", "processedAt": "\#(t)"}"#.utf8), partition: p))
        }
        let (bad, valid) = (badInputs, validInputs)
        try await env.withCollector { collector in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 2, logger: env.logger) { fleet in
                await fleet.start(0)
                await fleet.start(1)
                try await env.publish(bad.map(\.0) + [command] + valid)
                try await WorkerProbe.waitForConsumption(env, count: bad.count + valid.count)
                let arrived = await collector.wait(timeout: .seconds(60)) {
                    $0.messages(on: topics.deadLetters).count >= bad.count && !$0.messages(on: topics.repairs).isEmpty
                }
                #expect(arrived)
                let letters = collector.decoded(DeadLetter.self, topic: topics.deadLetters)
                #expect(letters.count == bad.count)
                for (message, words) in bad {
                    let payload = Data(message.value ?? []).base64EncodedString()
                    let letter = letters.first { $0.payloadBase64 == payload }
                    #expect(letter?.error.contains(words) == true, "\(letter?.error ?? "no letter") should say \(words)")
                    #expect(letter?.keyBase64 == message.key.map { Data($0).base64EncodedString() })
                }
                let binary = letters.first { $0.keyBase64 == Data(binaryKey).base64EncodedString() }
                #expect(binary != nil && binary?.key == nil)
                let result = try #require(collector.decoded(RepairResult.self, topic: topics.repairs).first)
                #expect(result.commandId.isEmpty && result.rejection == .invalid)
                #expect(collector.messages(on: topics.repairs).first?.key == "cmd-key")
                // Every valid record behind the bad ones was applied; both workers still run.
                let applied = try await WorkerProbe.appliedByTopic(env)
                #expect(applied[topics.ledger] == 4)
                #expect(applied[topics.accounts] == 4)
                #expect(applied[topics.webhooks] == 4)
                #expect(fleet.isRunning(0) && fleet.isRunning(1))
            }
        }
    }
}
