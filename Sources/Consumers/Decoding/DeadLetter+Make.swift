import Foundation
import Shared

extension DeadLetter {
    /// The dead letter for an input message that could not be used: where it came from, its payload as base64
    /// (`nil` for a tombstone), the reason, and when the worker received it.
    public static func make(from record: InboundRecord, error: String, receivedAtMs: Int64) -> DeadLetter {
        DeadLetter(
            topic: record.topic, partition: record.partition, offset: record.offset, key: record.keyString,
            payloadBase64: record.value.map { Data($0).base64EncodedString() }, error: error,
            receivedAt: Timestamp.format(receivedAtMs))
    }

    /// The contract's JSON for `billing.assurance.dlq.v1` (explicit nulls, slashes not escaped).
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return Array(try encoder.encode(self))
    }

    /// The message to publish on the dead-letter topic, keyed by the original key.
    public func outboundMessage(topics: Topics, originalKey: [UInt8]?) throws -> OutboundMessage {
        OutboundMessage(topic: topics.deadLetters, key: originalKey, value: try jsonBytes())
    }
}
