import Foundation
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// `assure-worker stripe-import`: every accepted file shape, and a file with invalid events.
@Suite struct StripeImportTests {
    static func event(_ id: String, customer: String?, type: String = "customer.subscription.updated") -> String {
        let customerJSON = customer.map { "\"\($0)\"" } ?? "null"
        return #"{"id":"\#(id)","object":"event","type":"\#(type)","created":1763632800,"#
            + #""data":{"object":{"id":"sub_\#(id)","object":"subscription","customer":\#(customerJSON),"status":"active"}}}"#
    }

    @Test func readsAPageAnArrayAndJSONLines_skippingEventsWithoutACustomer() {
        let events = [Self.event("evt_1", customer: "cus_1"), Self.event("evt_2", customer: nil), Self.event("evt_3", customer: "cus_3")]
        let page = #"{"object":"list","url":"/v1/events","has_more":false,"data":[\#(events.joined(separator: ","))]}"#
        let array = "[\n" + events.joined(separator: ",\n") + "\n]"
        let lines = events.joined(separator: "\n") + "\n\n"
        for (shape, text) in [("page", page), ("array", array), ("lines", lines)] {
            let entries = StripeEventFile.read(Data(text.utf8))
            #expect(entries.count == 3, "\(shape)")
            guard entries.count == 3 else { continue }
            guard case .event(let id, let customer, let json) = entries[0] else {
                Issue.record("\(shape): first entry \(entries[0])")
                continue
            }
            #expect(id == "evt_1" && customer == "cus_1", "\(shape)")
            #expect(String(decoding: json, as: UTF8.self).contains("\"customer.subscription.updated\""), "\(shape)")
            #expect(entries[1] == .withoutCustomer(id: "evt_2"), "\(shape)")
            if case .event(_, let customer, _) = entries[2] { #expect(customer == "cus_3") }
        }
        let expanded = #"{"id":"evt_x","type":"invoice.paid","created":1,"data":{"object":{"id":"in_1","customer":{"id":"cus_x"}}}}"#
        guard case .event(_, let customer, _) = StripeEventFile.read(Data(expanded.utf8)).first else {
            Issue.record("an expanded customer was not read")
            return
        }
        #expect(customer == "cus_x")
    }

    @Test func invalidEventsAreNamedByPosition() {
        let lines = [
            Self.event("evt_1", customer: "cus_1"), "not json", #"{"type":"x","created":1,"data":{"object":{}}}"#,
            #"{"id":"evt_4","created":1,"data":{"object":{}}}"#, #"{"id":"evt_5","type":"x","data":{"object":{}}}"#,
            #"{"id":"evt_6","type":"x","created":1,"data":{}}"#, "[1]",
        ].joined(separator: "\n")
        let entries = StripeEventFile.read(Data(lines.utf8))
        #expect(entries.count == 7)
        let invalid = entries.compactMap { entry -> String? in
            if case .invalid(let position, let reason) = entry { return "\(position): \(reason)" }
            return nil
        }
        #expect(
            invalid == [
                "line 2: not valid JSON", "line 3: missing 'id'", "line 4: evt_4: missing 'type'",
                "line 5: evt_5: missing 'created'", "line 6: evt_6: missing 'data.object'", "line 7: not a JSON object",
            ])
    }

    @Test func theCommandPublishesEachValidEventKeyedByCustomer_andFailsOnInvalidOnes() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 2)
        let worker = try ChildWorker(env: env, settleMs: 300)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("stripe-import-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let good = directory.appendingPathComponent("page.json")
        let page = [Self.event("evt_a", customer: "cus_a"), Self.event("evt_b", customer: "cus_b"), Self.event("evt_n", customer: nil)]
        try Data(#"{"object":"list","data":[\#(page.joined(separator: ","))]}"#.utf8).write(to: good)
        let bad = directory.appendingPathComponent("events.jsonl")
        try Data([Self.event("evt_c", customer: "cus_c"), "{broken", Self.event("evt_d", customer: "cus_a")].joined(separator: "\n").utf8)
            .write(to: bad)

        let first = try await worker.runCommand(["stripe-import", good.path])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("published 2, skipped without a customer 1, invalid 0"), "\(first.output)")
        let second = try await worker.runCommand(["stripe-import", bad.path])
        #expect(second.status == 1, "\(second.output)")
        #expect(second.output.contains("invalid line 2"), "\(second.output)")
        #expect(second.output.contains("published 2, skipped without a customer 0, invalid 1"), "\(second.output)")

        let collector = try TopicCollector(
            topics: [env.topics.stripe], bootstrapServers: env.cluster.bootstrapServers, logger: env.logger)
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try? await collector.run() }
            let arrived = await collector.wait(timeout: .seconds(60)) { $0.messages(on: env.topics.stripe).count >= 4 }
            #expect(arrived)
            let keys = collector.messages(on: env.topics.stripe).map { $0.key ?? "-" }.sorted()
            #expect(keys == ["cus_a", "cus_a", "cus_b", "cus_c"])
            collector.close()
            tasks.cancelAll()
        }
    }
}
