import CheckPipeline
import Shared

/// What an applied repair changes and writes, decided before anything is written.
public struct RepairPlan: Sendable, Hashable {
    public var action: RepairAction
    /// The change in the contract's words, for the dry run's `plan`.
    public var plan: JSONValue
    /// The audit rows it writes.
    public var audit: [AuditReference]
    /// The records equal to what the repair writes to the billing tables, for the check pipeline's state,
    /// so the issue does not reopen before change data capture brings the same rows back.
    public var records: [BillingRecord]
}

/// What executing a command produced, for the caller's transaction.
public struct RepairOutput: Sendable {
    public var result: RepairResult
    /// The records the pipeline must apply (empty unless applied).
    public var records: [BillingRecord]
    /// Issue changes the caller hands to the issue store (an operator action, or the repaired resolution).
    public var issueChanges: [IssueChange]
    /// Whether the result should be remembered under its command id (everything but an unreadable command).
    public var remember: Bool
}
