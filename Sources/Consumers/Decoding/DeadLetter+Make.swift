import Foundation
import Shared

extension DeadLetter {
    /// Payloads above this many bytes are cut to it in the dead letter, so the letter itself stays well
    /// under a broker's default message size limit (1 MB) and cannot get stuck in the outbox.
    public static let maxPayloadBytes = 256 * 1024

    /// The dead letter for an input message that could not be used: where it came from, its payload as base64
    /// (`nil` for a tombstone; cut to `maxPayloadBytes`, which the error then says), the reason, and when
    /// the worker received it.
    public static func make(from record: InboundRecord, error: String, receivedAtMs: Int64) -> DeadLetter {
        var reason = error
        var payload = record.value
        if let value = payload, value.count > maxPayloadBytes {
            payload = Array(value.prefix(maxPayloadBytes))
            reason += " (payload cut to its first \(maxPayloadBytes) of \(value.count) bytes; the original is at this offset)"
        }
        return DeadLetter(
            topic: record.topic, partition: record.partition, offset: record.offset, key: record.keyString,
            payloadBase64: payload.map { Data($0).base64EncodedString() }, error: reason,
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
