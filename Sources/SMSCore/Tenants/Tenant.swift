import Foundation
import Postgres

/// A tenant and its settings, as stored in `tenants`.
public struct Tenant: Sendable, Encodable, Equatable {
    public var id: String
    public var name: String
    /// IANA zone for budget periods and the fallback recipient zone.
    public var timezone: String
    /// ISO country used to parse national-format phone numbers.
    public var defaultCountry: String
    /// nil: no cap.
    public var dailyBudgetCents: Int?
    public var monthlyBudgetCents: Int?
    /// Default quiet window, minutes after local midnight; quiet from start to end.
    public var quietHoursStart: Int
    public var quietHoursEnd: Int
    public var consentRequired: Bool
    public var helpText: String?
    public var optOutFooter: String?
    /// Twilio's Advanced Opt-Out already confirms STOP; don't send a second confirmation.
    public var advancedOptOut: Bool
    /// Text numbers whose type is "fixed line or mobile" (every NANP number is); on by default.
    public var allowFixedLineOrMobile: Bool
    public var pausedAt: Date?
    public var pausedBy: String?
    public var pauseReason: String?
    public var createdAt: Date
    public var updatedAt: Date

    public var isPaused: Bool { pausedAt != nil }

    enum CodingKeys: String, CodingKey {
        case id, name, timezone, defaultCountry, dailyBudgetCents, monthlyBudgetCents, quietHoursStart, quietHoursEnd,
            consentRequired, helpText, optOutFooter, advancedOptOut, allowFixedLineOrMobile, paused, pausedAt, pausedBy, pauseReason, createdAt,
            updatedAt
    }

    /// Quiet hours go out as "HH:MM", the form PATCH takes; budgets as null when uncapped.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(timezone, forKey: .timezone)
        try c.encode(defaultCountry, forKey: .defaultCountry)
        try c.encode(dailyBudgetCents, forKey: .dailyBudgetCents)
        try c.encode(monthlyBudgetCents, forKey: .monthlyBudgetCents)
        try c.encode(Self.clock(quietHoursStart), forKey: .quietHoursStart)
        try c.encode(Self.clock(quietHoursEnd), forKey: .quietHoursEnd)
        try c.encode(consentRequired, forKey: .consentRequired)
        try c.encode(helpText, forKey: .helpText)
        try c.encode(optOutFooter, forKey: .optOutFooter)
        try c.encode(advancedOptOut, forKey: .advancedOptOut)
        try c.encode(allowFixedLineOrMobile, forKey: .allowFixedLineOrMobile)
        try c.encode(isPaused, forKey: .paused)
        try c.encode(pausedAt, forKey: .pausedAt)
        try c.encode(pausedBy, forKey: .pausedBy)
        try c.encode(pauseReason, forKey: .pauseReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    /// Minutes after midnight as "HH:MM".
    public static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }

    static let columns = """
        id::text, name, timezone, default_country, daily_budget_cents, monthly_budget_cents, quiet_hours_start,
        quiet_hours_end, consent_required, help_text, opt_out_footer, advanced_opt_out, allow_fixed_line_or_mobile, paused_at, paused_by,
        pause_reason, created_at, updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        timezone = try row.decode("timezone")
        defaultCountry = try row.decode("default_country")
        dailyBudgetCents = try row.decodeIfPresent("daily_budget_cents")
        monthlyBudgetCents = try row.decodeIfPresent("monthly_budget_cents")
        quietHoursStart = try row.decode("quiet_hours_start")
        quietHoursEnd = try row.decode("quiet_hours_end")
        consentRequired = try row.decode("consent_required")
        helpText = try row.decodeIfPresent("help_text")
        optOutFooter = try row.decodeIfPresent("opt_out_footer")
        advancedOptOut = try row.decode("advanced_opt_out")
        allowFixedLineOrMobile = try row.decode("allow_fixed_line_or_mobile")
        pausedAt = try row.decodeIfPresent("paused_at")
        pausedBy = try row.decodeIfPresent("paused_by")
        pauseReason = try row.decodeIfPresent("pause_reason")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// A partial update of a tenant's settings; nil fields stay as they are.
/// The budget fields distinguish "leave" (nil) from "remove the cap" (.some(nil)).
public struct TenantSettingsChange: Sendable {
    public var name: String?
    public var timezone: String?
    public var defaultCountry: String?
    public var dailyBudgetCents: Int??
    public var monthlyBudgetCents: Int??
    public var quietHoursStart: Int?
    public var quietHoursEnd: Int?
    public var consentRequired: Bool?
    public var helpText: String??
    public var optOutFooter: String??
    public var advancedOptOut: Bool?
    public var allowFixedLineOrMobile: Bool?

    public init() {}

    /// Names of the fields this change sets, for the audit log.
    public var changedFields: [String] {
        var fields: [String] = []
        if name != nil { fields.append("name") }
        if timezone != nil { fields.append("timezone") }
        if defaultCountry != nil { fields.append("default_country") }
        if dailyBudgetCents != nil { fields.append("daily_budget_cents") }
        if monthlyBudgetCents != nil { fields.append("monthly_budget_cents") }
        if quietHoursStart != nil { fields.append("quiet_hours_start") }
        if quietHoursEnd != nil { fields.append("quiet_hours_end") }
        if consentRequired != nil { fields.append("consent_required") }
        if helpText != nil { fields.append("help_text") }
        if optOutFooter != nil { fields.append("opt_out_footer") }
        if advancedOptOut != nil { fields.append("advanced_opt_out") }
        if allowFixedLineOrMobile != nil { fields.append("allow_fixed_line_or_mobile") }
        return fields
    }
}

/// SQL for `tenants`. Every query that takes a tenant id is filtered by it.
public struct TenantStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    /// Creates a tenant (its `budgets` row comes from a trigger).
    public func create(name: String, timezone: String, defaultCountry: String, actor: AuditActor) async throws -> Tenant {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                "INSERT INTO tenants (name, timezone, default_country) VALUES ($1, $2, $3) RETURNING \(Tenant.columns)",
                name, timezone, defaultCountry)
            let tenant = try Tenant(row: rows[0])
            try AuditLog.record(
                AuditEntry(tenantID: tenant.id, actor: actor, action: "tenant.create", targetType: "tenant", targetID: tenant.id),
                on: connection)
            return tenant
        }
    }

    public func find(id: String) async throws -> Tenant? {
        try await postgres.query("SELECT \(Tenant.columns) FROM tenants WHERE id = $1::uuid", id).first.map(Tenant.init)
    }

    /// The tenants whose ids are given, in name order.
    public func list(ids: [String]) async throws -> [Tenant] {
        try await postgres.query(
            "SELECT \(Tenant.columns) FROM tenants WHERE id = ANY($1::uuid[]) ORDER BY name, id", ids
        ).map(Tenant.init)
    }

    /// Every tenant (platform admins).
    public func listAll() async throws -> [Tenant] {
        try await postgres.query("SELECT \(Tenant.columns) FROM tenants ORDER BY name, id").map(Tenant.init)
    }

    /// Applies `change` and audits it; nil when the tenant does not exist.
    public func update(id: String, change: TenantSettingsChange, audit: AuditEntry) async throws -> Tenant? {
        try await postgres.withTransaction { connection in
            // COALESCE keeps fields the change leaves out; the *_set flags let a
            // change set a nullable field to NULL.
            let rows = try connection.query(
                """
                UPDATE tenants SET
                    name = COALESCE($2, name),
                    timezone = COALESCE($3, timezone),
                    default_country = COALESCE($4, default_country),
                    daily_budget_cents = CASE WHEN $5::boolean THEN $6::bigint ELSE daily_budget_cents END,
                    monthly_budget_cents = CASE WHEN $7::boolean THEN $8::bigint ELSE monthly_budget_cents END,
                    quiet_hours_start = COALESCE($9::smallint, quiet_hours_start),
                    quiet_hours_end = COALESCE($10::smallint, quiet_hours_end),
                    consent_required = COALESCE($11::boolean, consent_required),
                    help_text = CASE WHEN $12::boolean THEN $13 ELSE help_text END,
                    opt_out_footer = CASE WHEN $14::boolean THEN $15 ELSE opt_out_footer END,
                    advanced_opt_out = COALESCE($16::boolean, advanced_opt_out),
                    allow_fixed_line_or_mobile = COALESCE($17::boolean, allow_fixed_line_or_mobile),
                    updated_at = now()
                WHERE id = $1::uuid
                RETURNING \(Tenant.columns)
                """,
                id, change.name, change.timezone, change.defaultCountry,
                change.dailyBudgetCents != nil, change.dailyBudgetCents ?? nil,
                change.monthlyBudgetCents != nil, change.monthlyBudgetCents ?? nil,
                change.quietHoursStart, change.quietHoursEnd, change.consentRequired,
                change.helpText != nil, change.helpText ?? nil,
                change.optOutFooter != nil, change.optOutFooter ?? nil,
                change.advancedOptOut, change.allowFixedLineOrMobile)
            guard let row = rows.first else { return nil }
            try AuditLog.record(audit, on: connection)
            return try Tenant(row: row)
        }
    }

    /// Sets or clears the tenant kill switch in PostgreSQL (the truth) and audits it.
    /// Idempotent: pausing a paused tenant keeps the first pause's time and author.
    public func setPaused(id: String, paused: Bool, by: String, reason: String?, audit: AuditEntry) async throws -> Tenant? {
        try await postgres.withTransaction { connection in
            let rows =
                paused
                ? try connection.query(
                    """
                    UPDATE tenants SET paused_at = COALESCE(paused_at, now()),
                        paused_by = CASE WHEN paused_at IS NULL THEN $2 ELSE paused_by END,
                        pause_reason = CASE WHEN paused_at IS NULL THEN $3 ELSE pause_reason END,
                        updated_at = now()
                    WHERE id = $1::uuid RETURNING \(Tenant.columns)
                    """, id, by, reason)
                : try connection.query(
                    """
                    UPDATE tenants SET paused_at = NULL, paused_by = NULL, pause_reason = NULL, updated_at = now()
                    WHERE id = $1::uuid RETURNING \(Tenant.columns)
                    """, id)
            guard let row = rows.first else { return nil }
            try AuditLog.record(audit, on: connection)
            return try Tenant(row: row)
        }
    }
}
