/// A member's or API key's role in one tenant. Each role can do everything the
/// roles below it can.
///
/// - viewer: reads.
/// - member: manages contacts and campaigns, and may pause sending.
/// - admin: settings, numbers, do-not-contact removals, API keys, resume.
/// - owner: everything, including members.
public enum Role: String, Sendable, Codable, CaseIterable, Comparable {
    case viewer, member, admin, owner

    private var rank: Int {
        switch self {
        case .viewer: 0
        case .member: 1
        case .admin: 2
        case .owner: 3
        }
    }

    public static func < (lhs: Role, rhs: Role) -> Bool { lhs.rank < rhs.rank }
}

/// Who is making a request: a logged-in user or an API key.
public struct Principal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case user(email: String, isPlatformAdmin: Bool)
        /// An API key belongs to exactly one tenant.
        case apiKey(tenantID: String, prefix: String)
    }


    /// `users.id` or `api_keys.id`.
    public var id: String
    public var kind: Kind
    /// Roles by tenant id (lowercase uuid text).
    public var roles: [String: Role]

    public init(id: String, kind: Kind, roles: [String: Role]) {
        self.id = id
        self.kind = kind
        self.roles = roles
    }

    /// The role in `tenantID`, or nil when the principal may not see that tenant
    /// at all (which the API answers with 404, not 403). Platform admins act as
    /// owners everywhere.
    public func role(in tenantID: String) -> Role? {
        if case .user(_, true) = kind { return .owner }
        return roles[tenantID.lowercased()]
    }

    /// For audit_log: `user` or `api_key`, and a human label.
    public var auditActor: AuditActor {
        switch kind {
        case .user(let email, _): AuditActor(type: .user, id: id, label: email)
        case .apiKey(_, let prefix): AuditActor(type: .apiKey, id: id, label: prefix)
        }
    }
}
