import Foundation
import Postgres

/// A named group of a tenant's contacts, the audience of campaigns.
public struct ContactList: Sendable, Encodable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var memberCount: Int
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, description, memberCount, createdAt, updatedAt
    }

    /// Every field is written, absent ones as null, so clients see the whole shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(description, forKey: .description)
        try c.encode(memberCount, forKey: .memberCount)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    /// Columns of `l` (a `contact_lists` row or a CTE returning one).
    static let columns = """
        l.id::text, l.name, l.description, l.created_at, l.updated_at,
        (SELECT count(*) FROM contact_list_members m WHERE m.tenant_id = l.tenant_id AND m.list_id = l.id) AS member_count
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        description = try row.decodeIfPresent("description")
        memberCount = try row.decode("member_count")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// A change to a list. nil leaves a field alone; for `description`, `.some(nil)` clears it.
public struct ContactListChange: Sendable {
    public var name: String?
    public var description: String??

    public init(name: String? = nil, description: String?? = nil) {
        self.name = name
        self.description = description
    }
}

/// The outcome of adding contacts to a list.
public struct ListMembershipAddition: Sendable, Equatable {
    /// Contacts that were not members before.
    public var added: Int
    /// Contacts of the tenant that were members already.
    public var alreadyMembers: Int
    /// Ids that are not contacts of this tenant (unknown, another tenant's, or
    /// not UUIDs at all), in the order given; UUIDs in lower case.
    public var notFound: [String]

    public init(added: Int, alreadyMembers: Int, notFound: [String]) {
        self.added = added
        self.alreadyMembers = alreadyMembers
        self.notFound = notFound
    }
}

public struct ContactListStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// Creates a list; a unique violation (SQLSTATE 23505) means the tenant has a list of that name.
    public func create(tenantID: String, name: String, description: String?, audit: AuditEntry) async throws -> ContactList {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH l AS (
                    INSERT INTO contact_lists (tenant_id, name, description) VALUES ($1::uuid, $2, $3) RETURNING *
                )
                SELECT \(ContactList.columns) FROM l
                """, tenantID, name, description)
            let list = try ContactList(row: rows[0])
            var audit = audit
            audit.targetID = list.id
            audit.details["name"] = list.name
            try AuditLog.record(audit, on: connection)
            return list
        }
    }

    public func find(tenantID: String, id: String) async throws -> ContactList? {
        try await postgres.query(
            "SELECT \(ContactList.columns) FROM contact_lists l WHERE l.tenant_id = $1::uuid AND l.id = $2::uuid", tenantID, id
        ).first.map(ContactList.init)
    }

    /// Applies `change`; nil when there is no such list in the tenant. A unique
    /// violation means another list of the tenant has the new name.
    public func update(tenantID: String, id: String, change: ContactListChange, audit: AuditEntry) async throws -> ContactList? {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH l AS (
                    UPDATE contact_lists SET
                        name = COALESCE($3, name),
                        description = CASE WHEN $4::boolean THEN $5 ELSE description END,
                        updated_at = now()
                    WHERE tenant_id = $1::uuid AND id = $2::uuid
                    RETURNING *
                )
                SELECT \(ContactList.columns) FROM l
                """,
                tenantID, id, change.name, change.description != nil, change.description ?? nil)
            guard let row = rows.first else { return nil }
            try AuditLog.record(audit, on: connection)
            return try ContactList(row: row)
        }
    }

    /// Deletes a list and its memberships (campaigns lose it from their
    /// audience, by the schema's cascade); false when there is none in the tenant.
    public func delete(tenantID: String, id: String, audit: AuditEntry) async throws -> Bool {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH l AS (DELETE FROM contact_lists WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING *)
                SELECT \(ContactList.columns) FROM l
                """, tenantID, id)
            guard let row = rows.first else { return false }
            let list = try ContactList(row: row)
            var audit = audit
            audit.details["name"] = list.name
            audit.details["members"] = String(list.memberCount)
            try AuditLog.record(audit, on: connection)
            return true
        }
    }

    /// Oldest first, `limit` per page.
    public func list(tenantID: String, cursor: PageCursor?, limit: Int) async throws -> Page<ContactList> {
        let rows = try await postgres.query(
            """
            SELECT \(ContactList.columns) FROM contact_lists l
            WHERE l.tenant_id = $1::uuid
              AND ($2::timestamptz IS NULL OR (l.created_at, l.id) > ($2::timestamptz, $3::uuid))
            ORDER BY l.created_at, l.id
            LIMIT $4
            """, tenantID, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: ContactList.init)
    }

    /// Adds the tenant's contacts among `contactIDs` to the list in one
    /// statement; re-adding is harmless. Ids that are not UUIDs, unknown, or
    /// another tenant's are left out and reported in `notFound`. nil when there
    /// is no such list in the tenant.
    public func addMembers(tenantID: String, listID: String, contactIDs: [String], audit: AuditEntry) async throws -> ListMembershipAddition? {
        let requested = Self.parse(contactIDs)
        return try await postgres.withTransaction { connection in
            // FOR SHARE keeps the list from being deleted under the insert.
            guard try Self.lockList(tenantID: tenantID, listID: listID, on: connection) else { return nil }
            let row = try connection.query(
                """
                WITH wanted AS (SELECT DISTINCT unnest($3::uuid[]) AS contact_id),
                found AS (
                    SELECT c.id FROM contacts c JOIN wanted w ON w.contact_id = c.id WHERE c.tenant_id = $1::uuid
                ),
                inserted AS (
                    INSERT INTO contact_list_members (tenant_id, list_id, contact_id)
                    SELECT $1::uuid, $2::uuid, id FROM found
                    ON CONFLICT DO NOTHING
                    RETURNING contact_id
                )
                SELECT (SELECT count(*) FROM inserted) AS added, (SELECT count(*) FROM found) AS found,
                       ARRAY(SELECT id::text FROM found)::text[] AS found_ids
                """, tenantID, listID, requested.uuids)[0]
            let added: Int = try row.decode("added")
            let found: Int = try row.decode("found")
            let foundIDs = Set(try row.decode("found_ids", as: [String].self))
            let notFound = requested.ordered.filter { !foundIDs.contains($0) }
            var audit = audit
            audit.details["added"] = String(added)
            audit.details["already_members"] = String(found - added)
            audit.details["not_found"] = String(notFound.count)
            try AuditLog.record(audit, on: connection)
            return ListMembershipAddition(added: added, alreadyMembers: found - added, notFound: notFound)
        }
    }

    /// Removes the given contacts from the list; returns how many were members,
    /// or nil when there is no such list in the tenant.
    public func removeMembers(tenantID: String, listID: String, contactIDs: [String], audit: AuditEntry) async throws -> Int? {
        let requested = Self.parse(contactIDs)
        return try await postgres.withTransaction { connection in
            guard try Self.lockList(tenantID: tenantID, listID: listID, on: connection) else { return nil }
            let removed = try connection.query(
                """
                DELETE FROM contact_list_members
                WHERE tenant_id = $1::uuid AND list_id = $2::uuid AND contact_id = ANY($3::uuid[])
                """, tenantID, listID, requested.uuids
            ).affectedRows
            var audit = audit
            audit.details["removed"] = String(removed)
            audit.details["requested"] = String(requested.ordered.count)
            try AuditLog.record(audit, on: connection)
            return removed
        }
    }

    private static func lockList(tenantID: String, listID: String, on connection: PostgresConnection) throws -> Bool {
        try !connection.query(
            "SELECT 1 FROM contact_lists WHERE tenant_id = $1::uuid AND id = $2::uuid FOR SHARE", tenantID, listID
        ).isEmpty
    }

    /// The distinct ids in the order given (UUIDs in lower case), and the UUIDs among them.
    private static func parse(_ ids: [String]) -> (ordered: [String], uuids: [String]) {
        var seen: Set<String> = []
        var ordered: [String] = []
        var uuids: [String] = []
        for raw in ids {
            let uuid = UUID(uuidString: raw)?.uuidString.lowercased()
            let id = uuid ?? raw
            guard seen.insert(id).inserted else { continue }
            ordered.append(id)
            if let uuid { uuids.append(uuid) }
        }
        return (ordered, uuids)
    }
}

extension ContactList: KeysetPaged {}
