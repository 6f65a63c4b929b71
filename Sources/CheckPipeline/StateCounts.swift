/// What the assurance report counts over the stored entity states: users with a state, and Stripe
/// customers with a state that no user names (`summary.checkedUsers`, `summary.unmappedStripeCustomers`).
///
/// The writers of the states keep these counts as they write (a delta per transaction, from the
/// states as read and as written), so that the report never scans the states.
public struct StateCounts: Sendable, Hashable {
    public var users: Int64
    public var unmappedStripeCustomers: Int64

    public init(users: Int64 = 0, unmappedStripeCustomers: Int64 = 0) {
        self.users = users
        self.unmappedStripeCustomers = unmappedStripeCustomers
    }

    public var isZero: Bool { users == 0 && unmappedStripeCustomers == 0 }

    /// Counts one stored state (nothing for a missing one). A user state counts as a user; a Stripe
    /// customer state without users as unmapped, which is what its stored bytes say in SQL (the byte
    /// at `EntityState.stripeCustomerUsersByteOffset` is 0), so that a scan can recount.
    @inline(__always)
    public mutating func count(_ state: EntityState?) {
        switch state {
        case .user?: users += 1
        case .stripeCustomer(let customer)? where customer.users.isEmpty: unmappedStripeCustomers += 1
        default: break
        }
    }

    public static func - (lhs: StateCounts, rhs: StateCounts) -> StateCounts {
        StateCounts(
            users: lhs.users - rhs.users, unmappedStripeCustomers: lhs.unmappedStripeCustomers - rhs.unmappedStripeCustomers)
    }

    public static func + (lhs: StateCounts, rhs: StateCounts) -> StateCounts {
        StateCounts(
            users: lhs.users + rhs.users, unmappedStripeCustomers: lhs.unmappedStripeCustomers + rhs.unmappedStripeCustomers)
    }
}
