import Foundation

/// A value guarded by a lock, for state shared between a dedicated Kafka thread and Swift tasks.
///
/// `@unchecked Sendable` because every access to `value` goes through `withLock`.
final class KafkaLockedState<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
