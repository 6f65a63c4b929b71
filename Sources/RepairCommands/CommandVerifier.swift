import Shared

/// The checks a command passes before any issue is looked at, in the contract's order:
/// signature, role, reason, age.
public struct CommandVerifier: Sendable {
    /// Why a command was turned down, with a message an operator can act on.
    public struct Rejection: Error, Sendable, Hashable {
        public var code: RepairRejection
        public var detail: String
        public init(_ code: RepairRejection, _ detail: String) {
            self.code = code
            self.detail = detail
        }
    }

    private let signer: CommandSigner?
    public let ttlMs: Int64
    /// Commands dated further in the future than this are invalid.
    public static let maxClockSkewMs: Int64 = 60_000

    public init(commandKey: [UInt8]?, ttlSeconds: Int64) {
        self.signer = commandKey.map(CommandSigner.init(key:))
        self.ttlMs = ttlSeconds * 1000
    }

    /// The signature check alone: `nil` when the command is signed with the shared key.
    public func signatureRejection(of command: RepairCommand) -> Rejection? {
        guard let signer else {
            return Rejection(.invalidSignature, "this worker has no ASSURE_COMMAND_KEY: repairs are refused until it is set")
        }
        guard signer.isValid(command) else {
            return Rejection(.invalidSignature, "signature does not match the command under the shared command key")
        }
        return nil
    }

    /// `nil` when the command may go on to the issue checks.
    public func rejection(of command: RepairCommand, nowMs: Int64) -> Rejection? {
        if let rejection = signatureRejection(of: command) { return rejection }
        guard let role = Role(rawValue: command.actor.role), role.mayRepair else {
            return Rejection(.unauthorized, "actor role '\(command.actor.role)' may not repair: ADMIN or SUPER_ADMIN only")
        }
        guard !command.reason.allSatisfy(\.isWhitespace) else {
            return Rejection(.invalid, "reason must not be blank")
        }
        guard let requestedAtMs = Timestamp.parse(command.requestedAt) else {
            return Rejection(.invalid, "requestedAt '\(command.requestedAt)' is not an RFC 3339 timestamp")
        }
        if requestedAtMs > nowMs + Self.maxClockSkewMs {
            return Rejection(.invalid, "requestedAt is more than 60 s in the future: check the sender's clock")
        }
        if nowMs - requestedAtMs > ttlMs {
            return Rejection(.expired, "command is older than the command TTL of \(ttlMs / 1000) s: issue a new one")
        }
        return nil
    }
}
