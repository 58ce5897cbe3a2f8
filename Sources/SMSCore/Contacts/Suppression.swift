import Foundation
import Postgres

/// The one way a number stops (or starts again) receiving a tenant's texts:
/// STOP, provider error codes (``ProviderErrorPolicy``), repeated carrier
/// failures, and the API's do-not-contact entries all come through here.
///
/// Adding always writes `do_not_contact`, cancels the number's pending jobs
/// and audits. When the entry says the person opted out (``optOutReasons``:
/// their STOP, or the provider's record of a STOP) their contact is marked
/// opted out as well; other suppressions (an invalid or landline number, an
/// operator's entry) leave `opted_out_at` alone, so the opt-out rate stays
/// the rate of people who asked to stop.
public enum Suppression {
    /// Entry reasons that mean the person asked to stop. Only these are lifted
    /// by their START, and only these mark the contact opted out.
    public static let optOutReasons: Set<String> = ["stop_keyword", "twilio_21610"]

    /// Adds numbers (already E.164) to the tenant's list. Re-adding is
    /// harmless. A provider's addition that changed nothing is not audited
    /// again (every failed callback for the number would repeat it).
    @discardableResult
    public static func add(
        _ tx: JobTransaction, tenantID: String, phones: [String], reason: String, source: DoNotContactSource, createdBy: String?,
        audit: AuditEntry
    ) throws -> DoNotContactAddition {
        let unique = Array(Set(phones))
        let connection = tx.connection
        let added = try connection.query(
            """
            INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source, created_by)
            SELECT $1::uuid, phone, $3, $4, $5::uuid FROM unnest($2::text[]) AS phone
            ON CONFLICT (tenant_id, phone_e164) DO NOTHING
            """, tenantID, unique, reason, source.rawValue, createdBy
        ).affectedRows
        if optOutReasons.contains(reason) {
            try connection.query(
                """
                UPDATE contacts SET opted_out_at = COALESCE(opted_out_at, now()), opted_out_source = COALESCE(opted_out_source, $3),
                    updated_at = now()
                WHERE tenant_id = $1::uuid AND phone_e164 = ANY($2::text[])
                """, tenantID, unique, reason)
        }
        let cancelled = try tx.cancelPending(.phones(tenantID: tenantID, phones: unique), reason: "do not contact (\(reason))")
        if added > 0 || source != .provider {
            var audit = audit
            audit.details["reason"] = reason
            audit.details["added"] = String(added)
            audit.details["cancelled_jobs"] = String(cancelled)
            if unique.count == 1 { audit.details["phone"] = Redact.phone(unique[0]) }
            try AuditLog.record(audit, on: connection)
        }
        return DoNotContactAddition(added: added, alreadyPresent: unique.count - added, cancelledJobs: cancelled)
    }

    /// Removes one entry (an admin's decision); nil when the tenant has none
    /// with that id. A contact marked opted out by that entry is unmarked.
    public static func remove(_ tx: JobTransaction, tenantID: String, entryID: String, audit: AuditEntry) throws -> DoNotContactEntry? {
        let connection = tx.connection
        let rows = try connection.query(
            "DELETE FROM do_not_contact WHERE tenant_id = $1::uuid AND id = $2::uuid RETURNING \(DoNotContactEntry.columns)",
            tenantID, entryID)
        guard let row = rows.first else { return nil }
        let entry = try DoNotContactEntry(row: row)
        try unmarkContacts(connection, tenantID: tenantID, phone: entry.phone, reasons: [entry.reason])
        var audit = audit
        audit.details["phone"] = Redact.phone(entry.phone)
        audit.details["reason"] = entry.reason
        try AuditLog.record(audit, on: connection)
        return entry
    }

    /// The person's START, received at `receivedAt`: lifts only what their own
    /// STOP (or the provider's record of it) put on the list before then; an
    /// operator's entry, an invalid number or a carrier suppression stays, and
    /// so does an opt-out newer than this START (issue 12).
    public static func optIn(_ tx: JobTransaction, tenantID: String, phone: String, receivedAt: Date, audit: AuditEntry) throws {
        let connection = tx.connection
        try connection.query(
            """
            DELETE FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2 AND reason = ANY($3::text[]) AND created_at <= $4
            """, tenantID, phone, Array(optOutReasons).sorted(), receivedAt)
        // The person asked for texts again: their contact is subscribed whatever marked it, unless that came later.
        try connection.query(
            """
            UPDATE contacts SET opted_out_at = NULL, opted_out_source = NULL, updated_at = now()
            WHERE tenant_id = $1::uuid AND phone_e164 = $2 AND opted_out_at <= $3
            """, tenantID, phone, receivedAt)
        var audit = audit
        audit.details["phone"] = Redact.phone(phone)
        try AuditLog.record(audit, on: connection)
    }

    private static func unmarkContacts(_ connection: PostgresConnection, tenantID: String, phone: String, reasons: [String]) throws {
        try connection.query(
            """
            UPDATE contacts SET opted_out_at = NULL, opted_out_source = NULL, updated_at = now()
            WHERE tenant_id = $1::uuid AND phone_e164 = $2 AND opted_out_source = ANY($3::text[])
            """, tenantID, phone, reasons)
    }
}
