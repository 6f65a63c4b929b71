/// The expected plan-gate rules: feature → `free` | `premium` | `team` (setting `ASSURE_PLAN_POLICY`).
public struct PlanPolicy: Sendable, Hashable {
    /// Which tiers a policy level allows.
    public enum Level: String, Sendable, Hashable, Codable, CaseIterable {
        case free, premium, team

        public var allowedTiers: Set<Tier> {
            switch self {
            case .free: [.free, .pro, .team]
            case .premium: [.pro, .team]
            case .team: [.team]
            }
        }
    }

    public var features: [String: Level]

    public init(features: [String: Level]) { self.features = features }

    /// The built-in default, used when `ASSURE_PLAN_POLICY` is not set (documented in the README).
    public static let builtIn = PlanPolicy(features: [
        "basic_reports": .free,
        "advanced_exports": .premium,
        "api_access": .premium,
        "priority_support": .premium,
        "team_workspaces": .team,
        "sso": .team,
        "audit_log": .team,
    ])

    /// The expected tiers of a feature, `nil` when the policy does not name it.
    public func expectedTiers(for feature: String) -> Set<Tier>? { features[feature]?.allowedTiers }
}

extension PlanPolicy: Codable {
    enum CodingKeys: String, CodingKey { case features }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.features = try container.decode([String: Level].self, forKey: .features)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(features, forKey: .features)
    }
}
