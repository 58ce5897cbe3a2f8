import Foundation
internal import HummingbirdBcrypt
import NIOPosix
import Synchronization
import Postgres

/// A user as the API shows it (never the password hash).
public struct User: Sendable, Codable, Equatable {
    public var id: String
    public var email: String
    public var displayName: String?
    public var isPlatformAdmin: Bool
    public var createdAt: Date
}

/// A tenant membership of a user.
public struct Membership: Sendable, Codable, Equatable {
    public var tenantId: String
    public var tenantName: String
    public var role: Role
}

/// Why a login or credential was refused. Deliberately vague to the client:
/// wrong email and wrong password look the same.
public enum AuthenticationError: Error, Sendable, Equatable {
    case invalidCredentials
    case expired
}

/// Session lifetimes: a session ends after `idle` without use, and after
/// `absolute` whatever happens.
public struct SessionPolicy: Sendable {
    public var idle: Duration
    public var absolute: Duration
    /// bcrypt work factor for new passwords. 12 in production; tests lower it.
    public var bcryptCost: UInt8

    public init(idle: Duration = .seconds(12 * 3600), absolute: Duration = .seconds(7 * 24 * 3600), bcryptCost: UInt8 = 12) {
        self.idle = idle
        self.absolute = absolute
        self.bcryptCost = bcryptCost
    }
}

/// Users, passwords, sessions and API keys.
public struct IdentityStore: Sendable {
    let postgres: PostgresClient
    public let policy: SessionPolicy
    let cache = CredentialCache()

    public init(postgres: PostgresClient, policy: SessionPolicy = .init()) {
        self.postgres = postgres
        self.policy = policy
    }

    /// How often `last_used_at` and a session's activity are written at most.
    static let touchEvery = 60

    // MARK: Users

    /// Creates a user with a bcrypt-hashed password. Throws a unique violation
    /// (SQLSTATE 23505) when the email exists, whatever its case.
    public func createUser(email: String, password: String, displayName: String? = nil, isPlatformAdmin: Bool = false) async throws -> User {
        let hash = try await Self.hashPassword(password, cost: policy.bcryptCost)
        let rows = try await postgres.query(
            """
            INSERT INTO users (email, password_hash, display_name, is_platform_admin) VALUES ($1, $2, $3, $4)
            RETURNING id::text, email, display_name, is_platform_admin, created_at
            """, email, hash, displayName, isPlatformAdmin)
        return try Self.user(rows[0])
    }

    public func findUser(email: String) async throws -> User? {
        try await postgres.query(
            "SELECT id::text, email, display_name, is_platform_admin, created_at FROM users WHERE lower(email) = lower($1)",
            email
        ).first.map(Self.user)
    }

    /// Adds or changes a membership.
    public func setMembership(userID: String, tenantID: String, role: Role) async throws {
        try await postgres.query(
            """
            INSERT INTO memberships (tenant_id, user_id, role) VALUES ($1::uuid, $2::uuid, $3)
            ON CONFLICT (tenant_id, user_id) DO UPDATE SET role = EXCLUDED.role
            """, tenantID, userID, role.rawValue)
    }

    public func memberships(userID: String) async throws -> [Membership] {
        try await postgres.query(
            """
            SELECT m.tenant_id::text, t.name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
            WHERE m.user_id = $1::uuid ORDER BY t.name
            """, userID
        ).map { row in
            Membership(
                tenantId: try row.decode("tenant_id"), tenantName: try row.decode("name"),
                role: Role(rawValue: try row.decode("role")) ?? .viewer)
        }
    }

    // MARK: Sessions

    /// Checks the password and opens a session; returns the user and the raw
    /// token for the cookie (only its hash is stored).
    public func login(email: String, password: String, ip: String?, userAgent: String?) async throws -> (User, token: String) {
        let rows = try await postgres.query(
            """
            SELECT id::text, email, display_name, is_platform_admin, created_at, password_hash
            FROM users WHERE lower(email) = lower($1) AND disabled_at IS NULL
            """, email)
        // Verify against a dummy hash when the user is unknown, so response time
        // does not reveal which emails exist.
        let hash = try rows.first?.decode("password_hash", as: String.self) ?? Self.dummyHash(cost: policy.bcryptCost)
        let valid = try await Self.verifyPassword(password, hash: hash)
        guard valid, let row = rows.first else { throw AuthenticationError.invalidCredentials }
        let user = try Self.user(row)
        let token = Secrets.randomToken()
        try await postgres.withTransaction { [policy] connection in
            try connection.query(
                """
                INSERT INTO sessions (token_hash, user_id, expires_at, idle_expires_at, ip, user_agent)
                VALUES ($1, $2::uuid, now() + make_interval(secs => $3), now() + make_interval(secs => $4), $5::inet, $6)
                """,
                Secrets.sha256Hex(token), user.id, Double(policy.absolute.components.seconds),
                Double(min(policy.idle, policy.absolute).components.seconds), ip, userAgent.map { String($0.prefix(500)) })
            try connection.query("UPDATE users SET last_login_at = now() WHERE id = $1::uuid", user.id)
        }
        return (user, token)
    }

    /// The principal behind a session token; nil when the session is unknown
    /// or expired. From memory for a second after it was read (``CredentialCache``);
    /// the idle expiry is pushed forward at most once a minute, which the
    /// hours-long idle window does not notice.
    public func principal(sessionToken token: String) async throws -> Principal? {
        let hash = Secrets.sha256Hex(token)
        if let principal = cache.principal(for: hash) { return principal }
        let rows = try await postgres.query(
            """
            SELECT u.id::text AS user_id, u.email, u.is_platform_admin,
                   s.last_seen_at < now() - make_interval(secs => $2) AS stale,
                   COALESCE((SELECT jsonb_object_agg(m.tenant_id::text, m.role) FROM memberships m WHERE m.user_id = u.id), '{}')::text AS roles
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = $1 AND u.disabled_at IS NULL AND s.expires_at > now() AND s.idle_expires_at > now()
            """, hash, Double(Self.touchEvery))
        guard let row = rows.first else { return nil }
        if try row.decodeIfPresent("stale") ?? true {
            try await postgres.query(
                """
                UPDATE sessions SET last_seen_at = now(), idle_expires_at = LEAST(expires_at, now() + make_interval(secs => $2))
                WHERE token_hash = $1 AND last_seen_at < now() - make_interval(secs => $3)
                """, hash, Double(policy.idle.components.seconds), Double(Self.touchEvery))
        }
        let roles = try JSONDecoder().decode([String: String].self, from: Data(try row.decode("roles", as: String.self).utf8))
        let principal = Principal(
            id: try row.decode("user_id"),
            kind: .user(email: try row.decode("email"), isPlatformAdmin: try row.decode("is_platform_admin")),
            roles: roles.compactMapValues(Role.init(rawValue:)))
        cache.store(principal, for: hash)
        return principal
    }

    /// Ends a session; true when there was one.
    @discardableResult
    public func logout(sessionToken token: String) async throws -> Bool {
        let hash = Secrets.sha256Hex(token)
        cache.forget(hash)
        return try await postgres.query("DELETE FROM sessions WHERE token_hash = $1", hash).affectedRows > 0
    }

    func roles(userID: String) async throws -> [String: Role] {
        var roles: [String: Role] = [:]
        for row in try await postgres.query("SELECT tenant_id::text, role FROM memberships WHERE user_id = $1::uuid", userID) {
            roles[try row.decode("tenant_id", as: String.self)] = Role(rawValue: try row.decode("role"))
        }
        return roles
    }

    // MARK: API keys

    /// Creates a key; the returned secret is shown once and stored only hashed.
    public func createAPIKey(tenantID: String, name: String, role: Role, createdBy: String?, audit: AuditEntry) async throws -> (APIKey, secret: String) {
        let secret = "sk_" + Secrets.randomToken(bytes: 30)
        let prefix = String(secret.prefix(10))
        let key = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                INSERT INTO api_keys (tenant_id, name, prefix, key_hash, role, created_by)
                VALUES ($1::uuid, $2, $3, $4, $5, $6::uuid)
                RETURNING \(APIKey.columns)
                """, tenantID, name, prefix, Secrets.sha256Hex(secret), role.rawValue, createdBy)
            let key = try APIKey(row: rows[0])
            var audit = audit
            audit.targetID = key.id
            try AuditLog.record(audit, on: connection)
            return key
        }
        return (key, secret)
    }

    public func listAPIKeys(tenantID: String) async throws -> [APIKey] {
        try await postgres.query(
            "SELECT \(APIKey.columns) FROM api_keys WHERE tenant_id = $1::uuid ORDER BY created_at, id", tenantID
        ).map(APIKey.init)
    }

    /// Revokes a key of this tenant; nil when there is no such key in the tenant.
    public func revokeAPIKey(tenantID: String, keyID: String, audit: AuditEntry) async throws -> APIKey? {
        let key = try await postgres.withTransaction { connection -> APIKey? in
            let rows = try connection.query(
                """
                UPDATE api_keys SET revoked_at = COALESCE(revoked_at, now())
                WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING \(APIKey.columns)
                """, tenantID, keyID)
            guard let row = rows.first else { return nil }
            try AuditLog.record(audit, on: connection)
            return try APIKey(row: row)
        }
        // After the commit: this replica refuses the key at once, the others within a second.
        cache.forgetAll { $0.id == keyID.lowercased() }
        return key
    }

    /// The principal behind a bearer secret; nil when unknown, revoked or
    /// expired. From memory for a second after it was read (``CredentialCache``);
    /// `last_used_at` is written at most once a minute.
    public func principal(apiKey secret: String) async throws -> Principal? {
        let hash = Secrets.sha256Hex(secret)
        if let principal = cache.principal(for: hash) { return principal }
        let rows = try await postgres.query(
            """
            SELECT id::text, tenant_id::text, prefix, role, last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2) AS stale
            FROM api_keys
            WHERE key_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
            """, hash, Double(Self.touchEvery))
        guard let row = rows.first, let role = Role(rawValue: try row.decode("role")) else { return nil }
        let id: String = try row.decode("id")
        if try row.decode("stale", as: Bool.self) {
            try await postgres.query(
                """
                UPDATE api_keys SET last_used_at = now()
                WHERE id = $1::uuid AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))
                """, id, Double(Self.touchEvery))
        }
        let tenantID: String = try row.decode("tenant_id")
        let principal = Principal(id: id, kind: .apiKey(tenantID: tenantID, prefix: try row.decode("prefix")), roles: [tenantID: role])
        cache.store(principal, for: hash)
        return principal
    }

    // MARK: Helpers

    static func user(_ row: PostgresRow) throws -> User {
        User(
            id: try row.decode("id"), email: try row.decode("email"), displayName: try row.decodeIfPresent("display_name"),
            isPlatformAdmin: try row.decode("is_platform_admin"), createdAt: try row.decode("created_at"))
    }

    /// bcrypt is deliberately slow: run it on NIO's blocking pool, not the Swift concurrency pool.
    static func hashPassword(_ password: String, cost: UInt8) async throws -> String {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    static func verifyPassword(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A valid bcrypt hash of a random string at the cost new passwords get,
    /// so an unknown email takes as long as a wrong password (issue 12: the
    /// dummy was cost 10 against users' 12, 79 ms against 305 ms). Made once per cost.
    static func dummyHash(cost: UInt8) -> String {
        dummyHashes.withLock { hashes in
            if let hash = hashes[cost] { return hash }
            let hash = Bcrypt.hash(Secrets.randomToken(), cost: cost)
            hashes[cost] = hash
            return hash
        }
    }

    private static let dummyHashes = Mutex<[UInt8: String]>([:])

    /// What an unknown email's password is checked against (its cost is the policy's).
    public var unknownUserHash: String { Self.dummyHash(cost: policy.bcryptCost) }
}

/// An API key as listed (never its secret or hash).
public struct APIKey: Sendable, Codable, Equatable {
    public var id: String
    public var tenantId: String
    public var name: String
    public var prefix: String
    public var role: Role
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    static let columns = "id::text, tenant_id::text, name, prefix, role, created_at, last_used_at, revoked_at"

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        tenantId = try row.decode("tenant_id")
        name = try row.decode("name")
        prefix = try row.decode("prefix")
        role = Role(rawValue: try row.decode("role")) ?? .viewer
        createdAt = try row.decode("created_at")
        lastUsedAt = try row.decodeIfPresent("last_used_at")
        revokedAt = try row.decodeIfPresent("revoked_at")
    }
}
