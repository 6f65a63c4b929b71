/// `cause` of an issue event: what produced it.
public enum IssueCause: Sendable, Hashable, Codable, JSONFields {
    /// An input record: its full topic name, partition and offset.
    case record(topic: String, partition: Int32, offset: Int64)
    /// A repair or operator action.
    case command(commandId: String)
    /// A row applied by bootstrap, from the named billing table.
    case bootstrap(table: String)
    /// A transition made by the passage of time (settle deadlines, event time, snoozes ending).
    case timer

    enum CodingKeys: String, CodingKey { case topic, partition, offset, commandId, bootstrap, timer }

    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        switch self {
        case .record(let topic, let partition, let offset):
            try v.string("topic", topic)
            try v.int("partition", Int64(partition))
            try v.int("offset", offset)
        case .command(let commandId): try v.string("commandId", commandId)
        case .bootstrap(let table): try v.string("bootstrap", table)
        case .timer: try v.bool("timer", true)
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let topic = try c.decodeIfPresent(String.self, forKey: .topic) {
            self = .record(
                topic: topic, partition: try c.decode(Int32.self, forKey: .partition),
                offset: try c.decode(Int64.self, forKey: .offset))
        } else if let commandId = try c.decodeIfPresent(String.self, forKey: .commandId) {
            self = .command(commandId: commandId)
        } else if let table = try c.decodeIfPresent(String.self, forKey: .bootstrap) {
            self = .bootstrap(table: table)
        } else {
            self = .timer
        }
    }
}
