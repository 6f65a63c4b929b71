/// How long start-up keeps trying to reach PostgreSQL before giving up.
///
/// Delays grow exponentially from `initialDelay` up to `maximumDelay`; trying stops after
/// `maximumAttempts` attempts or once `deadline` has passed since the first, whichever comes first.
public struct ConnectRetryPolicy: Sendable, Hashable {
    public var maximumAttempts: Int
    public var initialDelay: Duration
    public var maximumDelay: Duration
    public var deadline: Duration

    public init(
        maximumAttempts: Int = 12, initialDelay: Duration = .milliseconds(200),
        maximumDelay: Duration = .seconds(5), deadline: Duration = .seconds(60)
    ) {
        self.maximumAttempts = max(1, maximumAttempts)
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.deadline = deadline
    }

    /// About 40 s of retries: long enough for a container's PostgreSQL to come up.
    public static let `default` = ConnectRetryPolicy()

    /// One attempt, no waiting.
    public static let once = ConnectRetryPolicy(maximumAttempts: 1)

    /// The pause after failed attempt number `attempt` (1-based).
    public func delay(afterAttempt attempt: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(1, attempt) {
            delay = delay * 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}
