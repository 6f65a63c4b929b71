import Shared

extension LedgerRow {
    /// How far this row moves the ledger balance: its `amount`, except for `AUDIT` rows.
    ///
    /// A `sync_balance` repair writes an AUDIT row whose `amount` is the delta applied to
    /// `users.credits` while `balance_after` stays the ledger's balance (the contract's audit row), so
    /// the arithmetic check holds AUDIT rows to `balanceAfter == previous balanceAfter`.
    var ledgerMovement: Int64 { type == .audit ? 0 : amount }
}
