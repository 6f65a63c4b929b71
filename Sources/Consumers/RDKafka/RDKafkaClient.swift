import CRdKafka
import Logging
import Shared

/// Owns one `rd_kafka_t` (and, for a mock cluster, the `rd_kafka_mock_cluster_t` running on it)
/// and destroys it in `deinit`. Takes and returns Swift values; every `rd_kafka_resp_err_t` is
/// mapped to a ``KafkaError`` where the call returns it.
///
/// `@unchecked Sendable` because librdkafka documents `rd_kafka_t` (and the mock cluster's
/// management functions) as thread-safe; the pointers never change after `init` and are freed
/// only in `deinit`, when no other reference can be using them. This is the project's only
/// `@unchecked Sendable` pointer owner.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    private let handle: OpaquePointer
    private let mockCluster: OpaquePointer?
    /// Kept alive as long as `handle`: the C callbacks point at it.
    let callbacks: RDKafkaCallbacks
    let kind: Kind

    private init(handle: OpaquePointer, mockCluster: OpaquePointer?, callbacks: RDKafkaCallbacks, kind: Kind) {
        self.handle = handle
        self.mockCluster = mockCluster
        self.callbacks = callbacks
        self.kind = kind
    }

    deinit {
        if let mockCluster { rd_kafka_mock_cluster_destroy(mockCluster) }
        rd_kafka_destroy(handle)
    }

    /// Creates a client from raw librdkafka properties.
    static func make(kind: Kind, properties: [String: String], callbacks: RDKafkaCallbacks) throws -> RDKafkaClient {
        let handle = try makeHandle(kind: kind, properties: properties, callbacks: callbacks)
        if kind == .consumer {
            // Serve the main queue (logs, errors, rebalances) from rd_kafka_consumer_poll.
            try KafkaError.check(rd_kafka_poll_set_consumer(handle), "redirecting the main queue")
        }
        return RDKafkaClient(handle: handle, mockCluster: nil, callbacks: callbacks, kind: kind)
    }

    /// Creates a dummy producer handle hosting an in-process mock cluster with `brokers` brokers.
    static func makeMockCluster(brokers: Int32, callbacks: RDKafkaCallbacks) throws -> RDKafkaClient {
        let handle = try makeHandle(kind: .producer, properties: ["client.id": "assure-mock-cluster"], callbacks: callbacks)
        guard let cluster = rd_kafka_mock_cluster_new(handle, brokers) else {
            rd_kafka_destroy(handle)
            throw KafkaError.local(.invalidArgument, "librdkafka could not start a mock cluster with \(brokers) brokers")
        }
        return RDKafkaClient(handle: handle, mockCluster: cluster, callbacks: callbacks, kind: .producer)
    }

    private static func makeHandle(kind: Kind, properties: [String: String], callbacks: RDKafkaCallbacks) throws
        -> OpaquePointer
    {
        let conf = rd_kafka_conf_new()!
        var errorText = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            if rd_kafka_conf_set(conf, key, value, &errorText, errorText.count) != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                throw KafkaError.local(
                    .invalidArgument,
                    "librdkafka property \(key)=\(value) rejected: \(String(errorBuffer: errorText)); fix the configuration")
            }
        }
        callbacks.install(on: conf)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)  // rd_kafka_new only takes ownership on success
            throw KafkaError.local(.invalidArgument, "librdkafka client not created: \(String(errorBuffer: errorText))")
        }
        return handle
    }

    // MARK: Common

    /// Lends the `rd_kafka_t` to `body`; it must not escape.
    func withHandle<Result>(_ body: (OpaquePointer) throws -> Result) rethrows -> Result {
        try body(handle)
    }

    /// Lends the mock cluster (if this client hosts one) to `body`; it must not escape.
    func withMockCluster<Result>(_ body: (OpaquePointer) throws -> Result) throws -> Result {
        guard let mockCluster else { throw KafkaError.local(.state, "this client hosts no mock cluster") }
        return try body(mockCluster)
    }

    /// Serves queued callbacks (delivery reports, logs, errors); blocks up to `timeoutMs`.
    /// - Important: blocking: call only on a dedicated thread.
    @discardableResult
    func poll(timeoutMs: Int32) -> Int32 { rd_kafka_poll(handle, timeoutMs) }

    /// Wakes a thread blocked in ``poll(timeoutMs:)``.
    func wakeUp() { rd_kafka_yield(handle) }

    /// The fatal error the client is in, if any.
    func fatalError() -> KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(handle, &text, text.count)
        guard var error = KafkaError(rdkafka: code, context: String(errorBuffer: text)) else { return nil }
        error.isFatal = true
        return error
    }

    // MARK: Producer

    /// Enqueues one message (copied) for delivery; its delivery report carries `id`.
    func produce(_ message: OutboundMessage, id: UInt64) -> KafkaError? {
        // Every C pointer must stay valid for the duration of the call; librdkafka copies them
        // (RD_KAFKA_MSG_F_COPY), so scratch copies freed right after are enough.
        var scratch: [UnsafeMutableRawPointer] = []
        defer { scratch.forEach { $0.deallocate() } }
        func copy(_ bytes: [UInt8]) -> UnsafeMutableRawPointer {
            let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            bytes.withUnsafeBytes { if let base = $0.baseAddress { memory.copyMemory(from: base, byteCount: bytes.count) } }
            scratch.append(memory)
            return memory
        }
        func copy(_ text: String) -> UnsafeMutablePointer<CChar> {
            copy(Array(text.utf8) + [0]).assumingMemoryBound(to: CChar.self)
        }

        var values: [rd_kafka_vu_t] = []
        values.reserveCapacity(6 + message.headers.count)
        var topic = rd_kafka_vu_t()
        topic.vtype = RD_KAFKA_VTYPE_TOPIC
        topic.u.cstr = UnsafePointer(copy(message.topic))
        values.append(topic)
        var flags = rd_kafka_vu_t()
        flags.vtype = RD_KAFKA_VTYPE_MSGFLAGS
        flags.u.i = RD_KAFKA_MSG_F_COPY
        values.append(flags)
        var partition = rd_kafka_vu_t()
        partition.vtype = RD_KAFKA_VTYPE_PARTITION
        partition.u.i32 = message.partition ?? RD_KAFKA_PARTITION_UA
        values.append(partition)
        if let key = message.key {
            var item = rd_kafka_vu_t()
            item.vtype = RD_KAFKA_VTYPE_KEY
            item.u.mem.ptr = copy(key)
            item.u.mem.size = key.count
            values.append(item)
        }
        if let value = message.value {
            var item = rd_kafka_vu_t()
            item.vtype = RD_KAFKA_VTYPE_VALUE
            item.u.mem.ptr = copy(value)
            item.u.mem.size = value.count
            values.append(item)
        }
        for header in message.headers {
            var item = rd_kafka_vu_t()
            item.vtype = RD_KAFKA_VTYPE_HEADER
            item.u.header.name = UnsafePointer(copy(header.name))
            if let value = header.value {
                item.u.header.val = UnsafeRawPointer(copy(value))
                item.u.header.size = value.count
            } else {
                item.u.header.val = nil
                item.u.header.size = 0
            }
            values.append(item)
        }
        var opaque = rd_kafka_vu_t()
        opaque.vtype = RD_KAFKA_VTYPE_OPAQUE
        opaque.u.ptr = UnsafeMutableRawPointer(bitPattern: UInt(id))
        values.append(opaque)

        let failure = values.withUnsafeBufferPointer { buffer in
            rd_kafka_produceva(handle, buffer.baseAddress, buffer.count)
        }
        return failure.map { KafkaError(consuming: $0, context: "producing to \(message.topic)") }
    }

    /// Waits up to `timeoutMs` for every queued message to be delivered (or to fail), serving
    /// delivery reports meanwhile.
    /// - Important: blocking: call only on a dedicated thread.
    func flush(timeoutMs: Int32) throws {
        try KafkaError.check(rd_kafka_flush(handle, timeoutMs), "flush")
    }

    /// Messages still waiting for their delivery report.
    var outstandingMessages: Int32 { rd_kafka_outq_len(handle) }
}

extension String {
    /// The text in a NUL-terminated C error buffer filled by librdkafka.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
