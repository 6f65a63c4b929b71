import Foundation
import Logging
import Synchronization
import Testing
import WorkerRuntime

/// `ASSURE_LOG_FORMAT=json`: one parseable JSON object per line, whatever the message holds.
@Suite struct JSONLogHandlerTests {
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    @Test func eachEventIsOneJSONLineWithLevelLabelMessageAndMetadata() throws {
        let lines = Lines()
        var logger = Logger(label: "assure.test") { label in JSONLogHandler(label: label, write: lines.append) }
        logger.logLevel = .debug
        logger[metadataKey: "assure.worker"] = "1"
        logger.warning(
            "Batch failed;\nretrying \"soon\"\t\u{1}",
            metadata: ["assure.kafka.topic": "billing.ledger.v1", "assure.attempt": .stringConvertible(3),
                       "assure.kafka.partitions": .array(["0", "1"])])
        logger.trace("below the level")
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false, "one event, one line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["level"] as? String == "warning")
        #expect(object["label"] as? String == "assure.test")
        #expect(object["message"] as? String == "Batch failed;\nretrying \"soon\"\t\u{1}")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["assure.worker"] as? String == "1")
        #expect(metadata["assure.kafka.topic"] as? String == "billing.ledger.v1")
        #expect(metadata["assure.attempt"] as? String == "3")
        #expect(metadata["assure.kafka.partitions"] as? [String] == ["0", "1"])
        let timestamp = try #require(object["timestamp"] as? String)
        #expect(timestamp.hasSuffix("Z") && timestamp.count == "2026-12-02T03:04:05.678Z".count, "\(timestamp)")
    }

    @Test func anEventWithoutMetadataHasNoMetadataKey() throws {
        let lines = Lines()
        let logger = Logger(label: "assure.plain") { label in JSONLogHandler(label: label, write: lines.append) }
        logger.info("started")
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == "started")
        #expect(object["metadata"] == nil)
    }
}
