import Foundation
import Shared

extension DeadLetter {
    /// Payloads above this many bytes are cut to it in the dead letter, so the letter itself stays well
    /// under a broker's default message size limit (1 MB) and cannot get stuck in the outbox.
    public static let maxPayloadBytes = 256 * 1024

    /// The dead letter for an input message that could not be used: where it came from, its key (as
    /// text when it is text, always as base64), its payload as base64 (`nil` for a tombstone; cut to
    /// `maxPayloadBytes`, which `payloadTruncated` says), the reason, and when the worker received it.
    public static func make(from record: InboundRecord, error: String, receivedAtMs: Int64) -> DeadLetter {
        var payload = record.value
        var truncated = false
        if let value = payload, value.count > maxPayloadBytes {
            payload = Array(value.prefix(maxPayloadBytes))
            truncated = true
        }
        return DeadLetter(
            topic: record.topic, partition: record.partition, offset: record.offset,
            key: record.key.flatMap(keyText), keyBase64: record.key.map { Data($0).base64EncodedString() },
            payloadBase64: payload.map { Data($0).base64EncodedString() }, payloadTruncated: truncated,
            error: String(error.utf8.count <= maxErrorBytes ? error : String(error.prefix(maxErrorBytes / 4)) + "…"),
            receivedAt: Timestamp.format(receivedAtMs))
    }

    /// Reasons are cut to this many bytes (a database's message can quote a whole value).
    static let maxErrorBytes = 4096

    /// The key as text: valid UTF-8 without control characters (U+0000–U+001F, U+007F), else nil.
    static func keyText(_ key: [UInt8]) -> String? {
        guard !key.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return nil }
        return String(validating: key, as: UTF8.self)
    }

    /// The message to publish on the dead-letter topic, keyed by the original key; the value is the
    /// contract's JSON (`jsonBytes()`: explicit nulls, slashes not escaped).
    public func outboundMessage(topics: Topics, originalKey: [UInt8]?) -> OutboundMessage {
        OutboundMessage(topic: topics.deadLetters, key: originalKey, value: jsonBytes())
    }
}
