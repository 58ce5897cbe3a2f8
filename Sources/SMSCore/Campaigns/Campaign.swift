import Foundation
import Postgres

/// A campaign's lifecycle: draft → scheduled → running → completed, with
/// paused and cancelled on the way. Launch moves draft or scheduled to
/// running (a relaunch of a completed campaign runs it again for its new
/// recipients); the workers' duty ``CampaignStore/completeFinished(limit:)``
/// completes it once no job is pending or in flight.
public enum CampaignStatus: String, Sendable, Codable {
    case draft, scheduled, running, paused, completed, cancelled

    /// Campaigns that can still be edited: nothing has been queued yet.
    public var isEditable: Bool { self == .draft || self == .scheduled }
    public var isFinished: Bool { self == .completed || self == .cancelled }
}

/// A campaign with its audience lists and sending numbers.
public struct Campaign: Sendable, Encodable, Equatable {
    public var id: String
    public var name: String
    public var bodyTemplate: String
    public var status: CampaignStatus
    /// Minutes after local midnight; nil for both means the tenant's window.
    public var quietHoursStart: Int?
    public var quietHoursEnd: Int?
    public var scheduledAt: Date?
    public var launchedAt: Date?
    public var completedAt: Date?
    public var cancelledAt: Date?
    public var pausedAt: Date?
    public var listIds: [String]
    public var sendingNumberIds: [String]
    public var createdAt: Date
    public var updatedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, bodyTemplate, status, quietHoursStart, quietHoursEnd, scheduledAt, launchedAt, completedAt,
            cancelledAt, pausedAt, listIds, sendingNumberIds, createdAt, updatedAt
    }

    /// Every field is written (null when empty); quiet hours as "HH:MM".
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(bodyTemplate, forKey: .bodyTemplate)
        try c.encode(status, forKey: .status)
        try c.encode(quietHoursStart.map(Tenant.clock), forKey: .quietHoursStart)
        try c.encode(quietHoursEnd.map(Tenant.clock), forKey: .quietHoursEnd)
        try c.encode(scheduledAt, forKey: .scheduledAt)
        try c.encode(launchedAt, forKey: .launchedAt)
        try c.encode(completedAt, forKey: .completedAt)
        try c.encode(cancelledAt, forKey: .cancelledAt)
        try c.encode(pausedAt, forKey: .pausedAt)
        try c.encode(listIds, forKey: .listIds)
        try c.encode(sendingNumberIds, forKey: .sendingNumberIds)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
    }

    static let columns = """
        c.id::text, c.name, c.body_template, c.status, c.quiet_hours_start, c.quiet_hours_end, c.scheduled_at,
        c.launched_at, c.completed_at, c.cancelled_at, c.paused_at, c.created_at, c.updated_at,
        ARRAY(SELECT l.list_id::text FROM campaign_lists l WHERE l.campaign_id = c.id ORDER BY l.list_id) AS list_ids,
        ARRAY(SELECT n.sending_number_id::text FROM campaign_sending_numbers n WHERE n.campaign_id = c.id
              ORDER BY n.sending_number_id) AS number_ids
        """

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        name = try row.decode("name")
        bodyTemplate = try row.decode("body_template")
        status = CampaignStatus(rawValue: try row.decode("status")) ?? .draft
        quietHoursStart = try row.decodeIfPresent("quiet_hours_start")
        quietHoursEnd = try row.decodeIfPresent("quiet_hours_end")
        scheduledAt = try row.decodeIfPresent("scheduled_at")
        launchedAt = try row.decodeIfPresent("launched_at")
        completedAt = try row.decodeIfPresent("completed_at")
        cancelledAt = try row.decodeIfPresent("cancelled_at")
        pausedAt = try row.decodeIfPresent("paused_at")
        listIds = try row.decode("list_ids")
        sendingNumberIds = try row.decode("number_ids")
        createdAt = try row.decode("created_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// Validated fields of a campaign create or update; nil leaves a field alone.
public struct CampaignFields: Sendable {
    public var name: String?
    public var bodyTemplate: String?
    /// `.some(nil)` returns to the tenant's window.
    public var quietHours: (start: Int, end: Int)??
    public var scheduledAt: Date??
    public var listIDs: [String]?
    public var sendingNumberIDs: [String]?

    public init() {}
}

/// Why a campaign change was refused.
public enum CampaignError: Error, Sendable, Equatable {
    /// Ids that are not lists (or numbers) of this tenant.
    case unknownLists([String])
    case unknownOrInactiveNumbers([String])
    /// The change needs another status: (current status, what was attempted).
    case wrongStatus(CampaignStatus, String)
}

public struct CampaignStore: Sendable {
    let postgres: PostgresClient

    public init(postgres: PostgresClient) { self.postgres = postgres }

    public func create(tenantID: String, fields: CampaignFields, createdBy: String?, audit: AuditEntry) async throws -> Campaign {
        try await postgres.withTransaction { connection in
            let scheduledAt = fields.scheduledAt ?? nil
            let quiet = fields.quietHours ?? nil
            let id = try connection.query(
                """
                INSERT INTO campaigns (tenant_id, name, body_template, status, quiet_hours_start, quiet_hours_end,
                                       scheduled_at, created_by)
                VALUES ($1::uuid, $2, $3, $4, $5::smallint, $6::smallint, $7::timestamptz, $8::uuid) RETURNING id::text
                """,
                tenantID, fields.name ?? "", fields.bodyTemplate ?? "",
                (scheduledAt == nil ? CampaignStatus.draft : .scheduled).rawValue,
                quiet?.start, quiet?.end, scheduledAt, createdBy
            )[0].decode("id", as: String.self)
            var fields = fields
            if fields.sendingNumberIDs == nil {
                // Left out: the tenant's active numbers, so a campaign that previews
                // fine does not then fail at launch for want of a number.
                fields.sendingNumberIDs = try connection.query(
                    "SELECT id::text FROM sending_numbers WHERE tenant_id = $1::uuid AND active ORDER BY created_at LIMIT 100", tenantID
                ).map { try $0.decode(at: 0, as: String.self) }
            }
            try Self.setAudience(connection, tenantID: tenantID, campaignID: id, fields: fields)
            var audit = audit
            audit.targetID = id
            try AuditLog.record(audit, on: connection)
            return try Self.find(connection, tenantID: tenantID, id: id)!
        }
    }

    public func find(tenantID: String, id: String) async throws -> Campaign? {
        try await postgres.withConnection { try Self.find($0, tenantID: tenantID, id: id) }
    }

    static func find(_ connection: PostgresConnection, tenantID: String, id: String) throws -> Campaign? {
        try connection.query(
            "SELECT \(Campaign.columns) FROM campaigns c WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid", tenantID, id
        ).first.map(Campaign.init)
    }

    /// Newest first.
    public func list(tenantID: String, status: CampaignStatus?, cursor: PageCursor?, limit: Int) async throws -> Page<Campaign> {
        let rows = try await postgres.query(
            """
            SELECT \(Campaign.columns) FROM campaigns c
            WHERE c.tenant_id = $1::uuid AND ($2::text IS NULL OR c.status = $2)
              AND ($3::timestamptz IS NULL OR (c.created_at, c.id) < ($3::timestamptz, $4::uuid))
            ORDER BY c.created_at DESC, c.id DESC
            LIMIT $5
            """, tenantID, status?.rawValue, cursor?.createdAt, cursor?.id, limit + 1)
        return try Page(rows: rows, limit: limit, decode: Campaign.init)
    }

    /// Changes an editable (draft or scheduled) campaign; nil when there is none.
    public func update(tenantID: String, id: String, fields: CampaignFields, audit: AuditEntry) async throws -> Campaign? {
        try await postgres.withTransaction { connection in
            let locked = try connection.query(
                "SELECT status FROM campaigns WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE", tenantID, id)
            guard let row = locked.first else { return nil }
            let status = CampaignStatus(rawValue: try row.decode("status")) ?? .draft
            guard status.isEditable else { throw CampaignError.wrongStatus(status, "edit") }
            let quiet = fields.quietHours ?? nil
            try connection.query(
                """
                UPDATE campaigns SET
                    name = COALESCE($3, name),
                    body_template = COALESCE($4, body_template),
                    quiet_hours_start = CASE WHEN $5::boolean THEN $6::smallint ELSE quiet_hours_start END,
                    quiet_hours_end = CASE WHEN $5::boolean THEN $7::smallint ELSE quiet_hours_end END,
                    scheduled_at = CASE WHEN $8::boolean THEN $9::timestamptz ELSE scheduled_at END,
                    status = CASE WHEN $8::boolean THEN (CASE WHEN $9::timestamptz IS NULL THEN 'draft' ELSE 'scheduled' END)
                                  ELSE status END,
                    updated_at = now()
                WHERE tenant_id = $1::uuid AND id = $2::uuid
                """,
                tenantID, id, fields.name, fields.bodyTemplate, fields.quietHours != nil, quiet?.start, quiet?.end,
                fields.scheduledAt != nil, fields.scheduledAt ?? nil)
            try Self.setAudience(connection, tenantID: tenantID, campaignID: id, fields: fields)
            try AuditLog.record(audit, on: connection)
            return try Self.find(connection, tenantID: tenantID, id: id)
        }
    }

    /// Deletes a campaign that never launched, or one that is finished
    /// (completed or cancelled: its jobs, the message history, go with it);
    /// false when there is none.
    public func delete(tenantID: String, id: String, audit: AuditEntry) async throws -> Bool {
        try await postgres.withTransaction { connection in
            let locked = try connection.query(
                "SELECT status FROM campaigns WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE", tenantID, id)
            guard let row = locked.first else { return false }
            let status = CampaignStatus(rawValue: try row.decode("status")) ?? .draft
            guard status.isEditable || status.isFinished else { throw CampaignError.wrongStatus(status, "delete") }
            try connection.query("DELETE FROM campaigns WHERE tenant_id = $1::uuid AND id = $2::uuid", tenantID, id)
            try AuditLog.record(audit, on: connection)
            return true
        }
    }

    /// The campaign-level kill switch and cancel. Pausing keeps queued jobs
    /// parked; cancelling cancels every job that has not been sent.
    public enum Transition: String, Sendable {
        case pause, resume, cancel
    }

    /// Applies `transition` inside a send-job transaction (a cancel cancels the
    /// campaign's pending jobs with it); nil when there is no such campaign.
    /// Idempotent: pausing a paused campaign changes nothing. Called by
    /// ``SendControl``, which also sets the flag the workers check.
    static func apply(
        _ tx: JobTransaction, _ transition: Transition, tenantID: String, id: String, by actor: String, audit: AuditEntry
    ) throws -> (Campaign, cancelledJobs: Int)? {
        let connection = tx.connection
        let locked = try connection.query(
            "SELECT status, launched_at, scheduled_at FROM campaigns WHERE tenant_id = $1::uuid AND id = $2::uuid FOR UPDATE",
            tenantID, id)
        guard let row = locked.first else { return nil }
        let status = CampaignStatus(rawValue: try row.decode("status")) ?? .draft
        let launched = !row.isNull("launched_at")
        let scheduled = !row.isNull("scheduled_at")
        var cancelled = 0
        switch transition {
        case .pause:
            guard status != .paused else { break }
            guard status == .running || status == .scheduled else { throw CampaignError.wrongStatus(status, "pause") }
            try connection.query(
                "UPDATE campaigns SET status = 'paused', paused_at = now(), paused_by = $3, updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid",
                tenantID, id, actor)
        case .resume:
            guard status == .paused else {
                if status == .running || status == .scheduled { break }
                throw CampaignError.wrongStatus(status, "resume")
            }
            let next: CampaignStatus = launched ? .running : (scheduled ? .scheduled : .draft)
            try connection.query(
                "UPDATE campaigns SET status = $3, paused_at = NULL, paused_by = NULL, updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid",
                tenantID, id, next.rawValue)
        case .cancel:
            guard status != .cancelled else { break }
            guard status != .completed else { throw CampaignError.wrongStatus(status, "cancel") }
            try connection.query(
                "UPDATE campaigns SET status = 'cancelled', cancelled_at = now(), updated_at = now() WHERE tenant_id = $1::uuid AND id = $2::uuid",
                tenantID, id)
            cancelled = try tx.cancelPending(.campaign(tenantID: tenantID, campaignID: id), reason: "campaign cancelled")
        }
        var audit = audit
        audit.details["previous_status"] = status.rawValue
        if transition == .cancel { audit.details["cancelled_jobs"] = String(cancelled) }
        try AuditLog.record(audit, on: connection)
        return (try Self.find(connection, tenantID: tenantID, id: id)!, cancelled)
    }

    /// A running campaign is finished when none of its jobs is pending or in
    /// flight (deferred jobs keep it running; `sent` jobs waiting for their
    /// delivery report do not). Marks such campaigns `completed` with
    /// `completed_at` and an audit entry carrying the final counts. Run by
    /// every worker as a periodic duty; a campaign being launched is skipped
    /// (its row is locked until the launch commits).
    /// - Returns: the ids of the campaigns completed.
    @discardableResult
    public func completeFinished(limit: Int = 100) async throws -> [String] {
        try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH done AS (
                    SELECT c.tenant_id, c.id FROM campaigns c
                    WHERE c.status = 'running'
                      AND NOT EXISTS (SELECT 1 FROM send_jobs j WHERE j.tenant_id = c.tenant_id AND j.campaign_id = c.id
                                      AND j.status = ANY($1::text[]))
                    ORDER BY c.launched_at LIMIT $2 FOR UPDATE SKIP LOCKED
                )
                UPDATE campaigns c SET status = 'completed', completed_at = now(), updated_at = now()
                FROM done WHERE c.tenant_id = done.tenant_id AND c.id = done.id
                RETURNING c.tenant_id::text, c.id::text,
                          (SELECT COALESCE(jsonb_object_agg(status, n), '{}')::text
                           FROM (SELECT status, count(*) AS n FROM send_jobs j
                                 WHERE j.tenant_id = c.tenant_id AND j.campaign_id = c.id GROUP BY status) s) AS counts
                """, JobStatus.names(JobStatus.pending.union(JobStatus.inFlight)), limit)
            for row in rows {
                let counts = try JSONDecoder().decode([String: Int].self, from: Data(try row.decode("counts", as: String.self).utf8))
                var details = counts.mapValues(String.init)
                details["jobs"] = String(counts.values.reduce(0, +))
                try AuditLog.record(
                    AuditEntry(
                        tenantID: try row.decode("tenant_id"), actor: .system, action: "campaign.complete", targetType: "campaign",
                        targetID: try row.decode("id"), details: details),
                    on: connection)
            }
            return try rows.map { try $0.decode("id", as: String.self) }
        }
    }

    /// Replaces the lists and numbers the change names, checking each belongs to the tenant.
    static func setAudience(_ connection: PostgresConnection, tenantID: String, campaignID: String, fields: CampaignFields) throws {
        if let lists = fields.listIDs {
            let found = try connection.query(
                "SELECT id::text FROM contact_lists WHERE tenant_id = $1::uuid AND id = ANY($2::uuid[])", tenantID, lists
            ).map { try $0.decode("id", as: String.self) }
            let missing = Set(lists).subtracting(found)
            guard missing.isEmpty else { throw CampaignError.unknownLists(missing.sorted()) }
            try connection.query("DELETE FROM campaign_lists WHERE tenant_id = $1::uuid AND campaign_id = $2::uuid", tenantID, campaignID)
            try connection.query(
                "INSERT INTO campaign_lists (tenant_id, campaign_id, list_id) SELECT $1::uuid, $2::uuid, unnest($3::uuid[])",
                tenantID, campaignID, Array(Set(lists)))
        }
        if let numbers = fields.sendingNumberIDs {
            let found = try connection.query(
                "SELECT id::text FROM sending_numbers WHERE tenant_id = $1::uuid AND active AND id = ANY($2::uuid[])",
                tenantID, numbers
            ).map { try $0.decode("id", as: String.self) }
            let missing = Set(numbers).subtracting(found)
            guard missing.isEmpty else { throw CampaignError.unknownOrInactiveNumbers(missing.sorted()) }
            try connection.query(
                "DELETE FROM campaign_sending_numbers WHERE tenant_id = $1::uuid AND campaign_id = $2::uuid", tenantID, campaignID)
            try connection.query(
                """
                INSERT INTO campaign_sending_numbers (tenant_id, campaign_id, sending_number_id)
                SELECT $1::uuid, $2::uuid, unnest($3::uuid[])
                """, tenantID, campaignID, Array(Set(numbers)))
        }
    }
}

extension Campaign: KeysetPaged {}
