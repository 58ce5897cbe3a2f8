import Foundation
import Postgres

/// A contact of a tenant.
public struct Contact: Sendable, Encodable, Equatable {
    public var id: String
    public var phone: String
    /// What kind of line the number is; `nil` for contacts stored before types were recorded.
    public var numberType: PhoneNumberType?
    public var firstName: String?
    public var lastName: String?
    public var email: String?
    /// IANA zone; nil means inferred from the number, else the tenant's.
    public var timezone: String?
    public var consentAt: Date?
    public var consentSource: String?
    public var optedOutAt: Date?
    public var optedOutSource: String?
    public var attributes: [String: JSONValue]
    /// The number is on the tenant's do-not-contact list.
    public var doNotContact: Bool
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, phone, numberType, firstName, lastName, email, timezone, consentAt, consentSource, optedOutAt, optedOutSource,
            attributes, doNotContact, createdAt, updatedAt
    }

    /// Every field is written, absent ones as null, so clients see the whole shape.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(phone, forKey: .phone)
        try c.encode(numberType, forKey: .numberType)
        try c.encode(firstName, forKey: .firstName)
        try c.encode(lastName, forKey: .lastName)
        try c.encode(email, forKey: .email)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(consentAt, forKey: .consentAt)
        try c.encode(consentSource, forKey: .consentSource)
        try c.encode(optedOutAt, forKey: .optedOutAt)
        try c.encode(optedOutSource, forKey: .optedOutSource)
        try c.encode(attributes, forKey: .attributes)
        try c.encode(doNotContact, forKey: .doNotContact)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    static let columns = """
        c.id::text, c.phone_e164, c.number_type, c.first_name, c.last_name, c.email, c.timezone, c.consent_at, c.consent_source,
        c.opted_out_at, c.opted_out_source, c.attributes::text, c.created_at, c.updated_at,
        EXISTS (SELECT 1 FROM do_not_contact d WHERE d.tenant_id = c.tenant_id AND d.phone_e164 = c.phone_e164) AS dnc
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        phone = try row.decode("phone_e164")
        numberType = try row.decodeIfPresent("number_type", as: String.self).flatMap(PhoneNumberType.init(rawValue:))
        firstName = try row.decodeIfPresent("first_name")
        lastName = try row.decodeIfPresent("last_name")
        email = try row.decodeIfPresent("email")
        timezone = try row.decodeIfPresent("timezone")
        consentAt = try row.decodeIfPresent("consent_at")
        consentSource = try row.decodeIfPresent("consent_source")
        optedOutAt = try row.decodeIfPresent("opted_out_at")
        optedOutSource = try row.decodeIfPresent("opted_out_source")
        attributes = try StorageJSON.decode([String: JSONValue].self, from: try row.decode("attributes"))
        doNotContact = try row.decode("dnc")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// Validated fields for creating or changing a contact. For updates, nil
/// leaves a field alone and `.some(nil)` clears it.
public struct ContactFields: Sendable {
    public var phone: String?
    public var firstName: String??
    public var lastName: String??
    public var email: String??
    public var timezone: String??
    /// Setting a source records consent now (or at `consentAt`); clearing it withdraws consent.
    public var consentSource: String??
    public var consentAt: Date?
    public var attributes: [String: JSONValue]?

    public init() {}
}

/// Filters for listing contacts.
public struct ContactQuery: Sendable {
    /// Matches a phone (any part of its digits) or a name (case-insensitive substring).
    public var search: String?
    public var listID: String?
    public var optedOut: Bool?
    public var hasConsent: Bool?

    public init() {}
}

public struct ContactStore: Sendable {
    let postgres: PostgresClient

    /// The stored `number_type` of an E.164 phone (one libphonenumber call).
    static func numberType(of phone: String) -> String? {
        PhoneNumber(e164: phone).map(\.type.rawValue)
    }

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// Creates a contact; a unique violation (SQLSTATE 23505) means the phone exists in this tenant.
    public func create(tenantID: String, phone: String, fields: ContactFields, audit: AuditEntry) async throws -> Contact {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH c AS (
                    INSERT INTO contacts (tenant_id, phone_e164, first_name, last_name, email, timezone, consent_at,
                                          consent_source, attributes, number_type)
                    VALUES ($1::uuid, $2, $3, $4, $5, $6, CASE WHEN $7::text IS NULL THEN NULL ELSE COALESCE($8::timestamptz, now()) END,
                            $7, $9::jsonb, $10)
                    RETURNING *
                )
                SELECT \(Contact.columns) FROM c
                """,
                tenantID, phone, fields.firstName ?? nil, fields.lastName ?? nil, fields.email ?? nil, fields.timezone ?? nil,
                fields.consentSource ?? nil, fields.consentAt, PostgresJSON(text: try StorageJSON.encode(fields.attributes ?? [:])),
                Self.numberType(of: phone))
            let contact = try Contact(row: rows[0])
            var audit = audit
            audit.targetID = contact.id
            try AuditLog.record(audit, on: connection)
            return contact
        }
    }

    public func find(tenantID: String, id: String) async throws -> Contact? {
        try await postgres.query(
            "SELECT \(Contact.columns) FROM contacts c WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid", tenantID, id
        ).first.map(Contact.init)
    }

    /// Applies `fields`; nil when there is no such contact in the tenant.
    public func update(tenantID: String, id: String, fields: ContactFields, audit: AuditEntry) async throws -> Contact? {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH c AS (
                    UPDATE contacts SET
                        phone_e164 = COALESCE($3, phone_e164),
                        number_type = CASE WHEN $3::text IS NULL THEN number_type ELSE $16 END,
                        first_name = CASE WHEN $4::boolean THEN $5 ELSE first_name END,
                        last_name = CASE WHEN $6::boolean THEN $7 ELSE last_name END,
                        email = CASE WHEN $8::boolean THEN $9 ELSE email END,
                        timezone = CASE WHEN $10::boolean THEN $11 ELSE timezone END,
                        consent_source = CASE WHEN $12::boolean THEN $13 ELSE consent_source END,
                        consent_at = CASE WHEN NOT $12::boolean THEN consent_at
                                          WHEN $13::text IS NULL THEN NULL
                                          ELSE COALESCE($14::timestamptz, now()) END,
                        attributes = COALESCE($15::jsonb, attributes),
                        updated_at = now()
                    WHERE tenant_id = $1::uuid AND id = $2::uuid
                    RETURNING *
                )
                SELECT \(Contact.columns) FROM c
                """,
                tenantID, id, fields.phone,
                fields.firstName != nil, fields.firstName ?? nil, fields.lastName != nil, fields.lastName ?? nil,
                fields.email != nil, fields.email ?? nil, fields.timezone != nil, fields.timezone ?? nil,
                fields.consentSource != nil, fields.consentSource ?? nil, fields.consentAt,
                try fields.attributes.map { PostgresJSON(text: try StorageJSON.encode($0)) },
                fields.phone.flatMap(Self.numberType(of:)))
            guard let row = rows.first else { return nil }
            try AuditLog.record(audit, on: connection)
            return try Contact(row: row)
        }
    }

    /// Deletes a contact and cancels its pending jobs; false when there is none
    /// in the tenant. Its jobs keep their phone number as history (see 0001_init.sql).
    public func delete(tenantID: String, id: String, audit: AuditEntry, jobs: SendJobs) async throws -> Bool {
        try await jobs.transaction { tx in
            let deleted = try tx.connection.query("DELETE FROM contacts WHERE tenant_id = $1::uuid AND id = $2::uuid", tenantID, id)
            guard deleted.affectedRows == 1 else { return false }
            try tx.cancelPending(.contact(tenantID: tenantID, contactID: id), reason: "contact deleted")
            try AuditLog.record(audit, on: tx.connection)
            return true
        }
    }

    /// Oldest first, `limit` per page.
    public func list(tenantID: String, query: ContactQuery, cursor: PageCursor?, limit: Int) async throws -> Page<Contact> {
        let digits = query.search.map { String($0.filter(\.isNumber)) }.flatMap { $0.count >= 3 ? $0 : nil }
        let pattern = query.search.map { "%" + likeEscaped($0.trimmingCharacters(in: .whitespaces)) + "%" }
        let rows = try await postgres.query(
            """
            SELECT \(Contact.columns) FROM contacts c
            WHERE c.tenant_id = $1::uuid
              AND ($2::text IS NULL
                   OR ($3::text IS NOT NULL AND c.phone_e164 LIKE '%' || $3 || '%')
                   OR c.first_name ILIKE $2 OR c.last_name ILIKE $2
                   OR (coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, '')) ILIKE $2)
              AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM contact_list_members m
                                               WHERE m.tenant_id = c.tenant_id AND m.contact_id = c.id AND m.list_id = $4::uuid))
              AND ($5::boolean IS NULL OR (c.opted_out_at IS NOT NULL) = $5)
              AND ($6::boolean IS NULL OR (c.consent_at IS NOT NULL) = $6)
              AND ($7::timestamptz IS NULL OR (c.created_at, c.id) > ($7::timestamptz, $8::uuid))
            ORDER BY c.created_at, c.id
            LIMIT $9
            """,
            tenantID, pattern, digits, query.listID, query.optedOut, query.hasConsent, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: Contact.init)
    }
}

/// Escapes LIKE's wildcards so a search for "50%" means the characters.
func likeEscaped(_ text: String) -> String {
    text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
}

extension Contact: KeysetPaged {}
