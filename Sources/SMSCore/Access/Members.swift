import Foundation
import Postgres

/// A user's membership as the tenant's owners see it.
public struct Member: Sendable, Encodable, Equatable {
    public var userId: String
    public var email: String
    public var displayName: String?
    public var role: Role
    public var addedAt: Date

    static let columns = "u.id::text AS user_id, u.email, u.display_name, m.role, m.created_at"

    init(row: PostgresRow) throws {
        userId = try row.decode("user_id")
        email = try row.decode("email")
        displayName = try row.decodeIfPresent("display_name")
        role = Role(rawValue: try row.decode("role")) ?? .viewer
        addedAt = try row.decode("created_at")
    }
}

/// An invitation to join a tenant, as its owners see it (never its token).
public struct Invitation: Sendable, Encodable, Equatable {
    public var id: String
    public var email: String
    public var role: Role
    public var invitedBy: String?
    public var createdAt: Date
    public var expiresAt: Date

    static let columns = "id::text, email, role, invited_by, created_at, expires_at"

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        email = try row.decode("email")
        role = Role(rawValue: try row.decode("role")) ?? .viewer
        invitedBy = try row.decodeIfPresent("invited_by")
        createdAt = try row.decode("created_at")
        expiresAt = try row.decode("expires_at")
    }
}

public enum MembershipError: Error, Sendable, Equatable {
    /// A tenant always keeps at least one owner.
    case lastOwner
}

/// Who belongs to a tenant, with which role. Owners manage it.
public struct MemberStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    public func list(tenantID: String) async throws -> [Member] {
        try await postgres.query(
            """
            SELECT \(Member.columns) FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.tenant_id = $1::uuid ORDER BY u.email
            """, tenantID
        ).map(Member.init)
    }

    // MARK: Invitations

    /// How long an invitation can be accepted.
    public static let invitationLifetime: Duration = .seconds(7 * 24 * 3600)

    /// Invites `email` with `role`: the answer is the same whether or not the
    /// email has an account (no tenant learns who else uses the platform), and
    /// nobody is attached until the person accepts. Returns the invitation and
    /// its token (shown once; only its hash is stored).
    public func invite(tenantID: String, email: String, role: Role, invitedBy: String?, audit: AuditEntry) async throws -> (Invitation, token: String) {
        let token = "inv_" + Secrets.randomToken(bytes: 24)
        let invitation = try await postgres.withTransaction { connection in
            let row = try connection.query(
                """
                INSERT INTO invitations (tenant_id, email, role, token_hash, invited_by, expires_at)
                VALUES ($1::uuid, lower($2), $3, $4, $5, now() + make_interval(secs => $6))
                RETURNING \(Invitation.columns)
                """, tenantID, email, role.rawValue, Secrets.sha256Hex(token), invitedBy,
                Double(Self.invitationLifetime.components.seconds))[0]
            let invitation = try Invitation(row: row)
            var audit = audit
            audit.targetType = "invitation"
            audit.targetID = invitation.id
            audit.details["role"] = role.rawValue
            try AuditLog.record(audit, on: connection)
            return invitation
        }
        return (invitation, token)
    }

    /// The tenant's invitations not yet accepted, revoked or expired.
    public func pendingInvitations(tenantID: String) async throws -> [Invitation] {
        try await postgres.query(
            """
            SELECT \(Invitation.columns) FROM invitations
            WHERE tenant_id = $1::uuid AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
            ORDER BY created_at, id
            """, tenantID
        ).map(Invitation.init)
    }

    /// Withdraws a pending invitation; false when the tenant has none with that id.
    public func revokeInvitation(tenantID: String, id: String, audit: AuditEntry) async throws -> Bool {
        try await postgres.withTransaction { connection in
            let revoked = try connection.query(
                """
                UPDATE invitations SET revoked_at = now()
                WHERE tenant_id = $1::uuid AND id = $2::uuid AND accepted_at IS NULL AND revoked_at IS NULL
                """, tenantID, id
            ).affectedRows
            guard revoked == 1 else { return false }
            try AuditLog.record(audit, on: connection)
            return true
        }
    }

    /// The invited person accepts: only a logged-in user whose email is the
    /// invitation's, while it is pending. Nil otherwise, whatever the reason
    /// (an unknown, used, revoked or expired token, or another user's).
    public func accept(token: String, userID: String, email: String) async throws -> Member? {
        try await postgres.withTransaction { connection in
            guard
                let row = try connection.query(
                    """
                    UPDATE invitations SET accepted_at = now(), accepted_by = $2::uuid
                    WHERE token_hash = $1 AND lower(email) = lower($3) AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()
                    RETURNING tenant_id::text, role, id::text
                    """, Secrets.sha256Hex(token), userID, email
                ).first
            else { return nil }
            let tenantID: String = try row.decode("tenant_id")
            let role: String = try row.decode("role")
            // An existing membership keeps the higher of the two roles.
            try connection.query(
                """
                INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1::uuid, $2::uuid, $3)
                ON CONFLICT (tenant_id, user_id) DO NOTHING
                """, tenantID, userID, role)
            try AuditLog.record(
                AuditEntry(
                    tenantID: tenantID, actor: AuditActor(type: .user, id: userID, label: email), action: "member.join", targetType: "user",
                    targetID: userID, details: ["role": role, "invitation_id": try row.decode("id")]),
                on: connection)
            return try Self.find(connection, tenantID: tenantID, userID: userID)
        }
    }

    /// Changes a member's role; nil when the user is not a member.
    public func update(tenantID: String, userID: String, role: Role, audit: AuditEntry) async throws -> Member? {
        try await postgres.withTransaction { connection in
            guard try Self.find(connection, tenantID: tenantID, userID: userID) != nil else { return nil }
            try Self.guardLastOwner(connection, tenantID: tenantID, userID: userID, newRole: role)
            try connection.query(
                "UPDATE memberships SET role = $3 WHERE tenant_id = $1::uuid AND user_id = $2::uuid", tenantID, userID, role.rawValue)
            var audit = audit
            audit.details["role"] = role.rawValue
            try AuditLog.record(audit, on: connection)
            return try Self.find(connection, tenantID: tenantID, userID: userID)
        }
    }

    /// Removes a member; false when the user is not a member.
    public func remove(tenantID: String, userID: String, audit: AuditEntry) async throws -> Bool {
        try await postgres.withTransaction { connection in
            guard try Self.find(connection, tenantID: tenantID, userID: userID) != nil else { return false }
            try Self.guardLastOwner(connection, tenantID: tenantID, userID: userID, newRole: nil)
            try connection.query("DELETE FROM memberships WHERE tenant_id = $1::uuid AND user_id = $2::uuid", tenantID, userID)
            try AuditLog.record(audit, on: connection)
            return true
        }
    }

    static func find(_ connection: PostgresConnection, tenantID: String, userID: String) throws -> Member? {
        try connection.query(
            "SELECT \(Member.columns) FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.tenant_id = $1::uuid AND m.user_id = $2::uuid",
            tenantID, userID
        ).first.map(Member.init)
    }

    /// Refuses to demote or remove the tenant's only owner. The owners' rows
    /// are locked so two owners cannot demote each other at the same moment.
    static func guardLastOwner(_ connection: PostgresConnection, tenantID: String, userID: String, newRole: Role?) throws {
        guard newRole != .owner else { return }
        let owners = try connection.query(
            "SELECT user_id::text FROM memberships WHERE tenant_id = $1::uuid AND role = 'owner' FOR UPDATE", tenantID
        ).map { try $0.decode("user_id", as: String.self) }
        if owners == [userID] { throw MembershipError.lastOwner }
    }
}
