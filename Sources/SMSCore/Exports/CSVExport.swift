import Foundation

/// CSV for exports: RFC 4180 quoting, and cells a spreadsheet would run as a
/// formula neutralised. A cell starting with `=`, `+`, `-`, `@`, a tab or a
/// carriage return gets a leading apostrophe, so Excel, LibreOffice and
/// Google Sheets show it as text (OWASP's CSV-injection advice). That
/// includes E.164 numbers (`'+61412…`): a number a spreadsheet would
/// otherwise turn into a formula or a float.
///
/// Hand-written: the CSV packages on the mirror (SwiftCSV, CSV.swift) read
/// CSV; writing is quoting plus this rule.
public enum CSVExport {
    static let formulaStarts: Set<Character> = ["=", "+", "-", "@", "\t", "\r"]

    /// One cell, neutralised and quoted when it needs to be.
    public static func cell(_ value: String?) -> String {
        guard var text = value, !text.isEmpty else { return "" }
        if let first = text.first, formulaStarts.contains(first) { text = "'" + text }
        if text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return text
    }

    /// One CRLF-terminated line.
    public static func line(_ cells: [String?]) -> String {
        cells.map(cell).joined(separator: ",") + "\r\n"
    }

    /// RFC 3339 with milliseconds, or empty.
    public static func time(_ date: Date?) -> String? { date.map(rfc3339) }

    public static let messageHeader = [
        "id", "direction", "kind", "campaign_id", "contact_id", "to", "from", "body", "status", "failure_reason", "error_code",
        "segments", "cost_cents", "provider_sid", "created_at", "sent_at", "delivered_at",
    ]

    public static func row(_ m: MessageLogEntry) -> [String?] {
        [
            m.id, m.direction.rawValue, m.kind.rawValue, m.campaignId, m.contactId, m.to, m.from, m.body, m.status, m.failureReason,
            m.errorCode.map(String.init), m.segments.map(String.init), m.costCents.map { "\($0)" }, m.providerSid, time(m.createdAt),
            time(m.sentAt), time(m.deliveredAt),
        ]
    }

    public static let contactHeader = [
        "id", "phone", "first_name", "last_name", "email", "timezone", "consent_at", "consent_source", "opted_out_at", "opted_out_source",
        "created_at",
    ]

    public static func row(_ c: Contact) -> [String?] {
        [
            c.id, c.phone, c.firstName, c.lastName, c.email, c.timezone, time(c.consentAt), c.consentSource, time(c.optedOutAt),
            c.optedOutSource, time(c.createdAt),
        ]
    }

    public static let doNotContactHeader = ["id", "phone", "reason", "source", "created_at"]

    public static func row(_ e: DoNotContactEntry) -> [String?] {
        [e.id, e.phone, e.reason, e.source, time(e.createdAt)]
    }
}
