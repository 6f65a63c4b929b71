/// What the worker does with an input message it cannot use (Kafka Streams' deserialization handler).
public enum DeadLetterPolicy: Sendable, Hashable, CaseIterable, RawRepresentable, CustomStringConvertible {
    /// Log it, publish it to the dead-letter topic with the reason, and continue (the default).
    case deadLetter
    /// Stop the worker with the reason, leaving the message uncommitted.
    case fail

    public static let `default` = DeadLetterPolicy.deadLetter

    /// Parses a setting value, case-insensitively: `dead-letter` (also `dead_letter`, `deadletter`, `dlq`,
    /// `continue`) or `fail`.
    public init?(rawValue: String) {
        switch rawValue.lowercased() {
        case "dead-letter", "dead_letter", "deadletter", "dlq", "continue": self = .deadLetter
        case "fail": self = .fail
        default: return nil
        }
    }

    /// The canonical setting value.
    public var rawValue: String {
        switch self {
        case .deadLetter: "dead-letter"
        case .fail: "fail"
        }
    }

    public var description: String { rawValue }

    /// Whether an unusable message stops the worker.
    public var stopsWorker: Bool { self == .fail }
}
