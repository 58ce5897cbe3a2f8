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

public enum MembershipError: Error, Sendable, Equatable {
    case noSuchUser
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

    /// Adds an existing user by email, or changes their role if they are a member.
    public func add(tenantID: String, email: String, role: Role, audit: AuditEntry) async throws -> Member {
        try await postgres.withTransaction { connection in
            guard let user = try connection.query("SELECT id::text FROM users WHERE lower(email) = lower($1)", email).first else {
                throw MembershipError.noSuchUser
            }
            let userID: String = try user.decode("id")
            try Self.guardLastOwner(connection, tenantID: tenantID, userID: userID, newRole: role)
            try connection.query(
                """
                INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1::uuid, $2::uuid, $3)
                ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role
                """, tenantID, userID, role.rawValue)
            var audit = audit
            audit.targetID = userID
            audit.details["role"] = role.rawValue
            try AuditLog.record(audit, on: connection)
            return try Self.find(connection, tenantID: tenantID, userID: userID)!
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
