import Foundation
import Hummingbird
import Postgres
import SMSCore

/// The message log, a contact's conversation, and the CSV exports of
/// messages, contacts and do-not-contact entries.
///
/// Reading is for viewers and up; an export takes every row out at once, so
/// it needs a member and is audited. Exports stream page by page (5,000 rows a
/// query), whatever the size, with spreadsheet formulas neutralised (``CSVExport``).
struct MessageController {
    let log: MessageLog
    let contacts: ContactStore
    let doNotContact: DoNotContactStore
    let tenants: TenantStore
    let postgres: PostgresClient

    static let exportPage = 5_000

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/messages") { request, context in try await list(request, context: context) }
        router.get("tenants/:tenantId/contacts/:contactId/messages") { request, context in try await conversation(request, context: context) }
        router.get("tenants/:tenantId/exports/messages") { request, context in try await exportMessages(request, context: context) }
        router.get("tenants/:tenantId/exports/contacts") { request, context in try await exportContacts(request, context: context) }
        router.get("tenants/:tenantId/exports/do-not-contact") { request, context in try await exportDoNotContact(request, context: context) }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<MessageLogEntry> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        let filter = try await self.filter(request, tenantID: access.tenantID)
        return PageBody(try await log.list(tenantID: access.tenantID, filter: filter, cursor: page.cursor, limit: page.limit))
    }

    func conversation(_ request: Request, context: AppRequestContext) async throws -> PageBody<MessageLogEntry> {
        let access = try context.tenantAccess(minimum: .viewer)
        let contactID = try context.uuidParameter("contactId", resource: "contact")
        guard try await contacts.find(tenantID: access.tenantID, id: contactID) != nil else { throw APIError.notFound("contact") }
        let page = try PageRequest(request)
        return PageBody(try await log.conversation(tenantID: access.tenantID, contactID: contactID, cursor: page.cursor, limit: page.limit))
    }

    func exportMessages(_ request: Request, context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .member)
        let filter = try await self.filter(request, tenantID: access.tenantID)
        let log = self.log
        let tenantID = access.tenantID
        try await audit(context.audit(tenantID: tenantID, action: "export.messages", details: ["filters": filter.description]))
        return Self.csv(name: "messages", header: CSVExport.messageHeader) { cursor in
            let page = try await log.list(tenantID: tenantID, filter: filter, cursor: cursor, limit: Self.exportPage)
            return (page.items.map(CSVExport.row), page.nextCursor.flatMap(PageCursor.init(token:)))
        }
    }

    func exportContacts(_ request: Request, context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .member)
        let query = try ContactController.query(request)
        let contacts = self.contacts
        let tenantID = access.tenantID
        try await audit(context.audit(tenantID: tenantID, action: "export.contacts"))
        return Self.csv(name: "contacts", header: CSVExport.contactHeader) { cursor in
            let page = try await contacts.list(tenantID: tenantID, query: query, cursor: cursor, limit: Self.exportPage)
            return (page.items.map(CSVExport.row), page.nextCursor.flatMap(PageCursor.init(token:)))
        }
    }

    func exportDoNotContact(_ request: Request, context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .member)
        let entries = self.doNotContact
        let tenantID = access.tenantID
        try await audit(context.audit(tenantID: tenantID, action: "export.do_not_contact"))
        return Self.csv(name: "do-not-contact", header: CSVExport.doNotContactHeader) { cursor in
            let page = try await entries.list(tenantID: tenantID, search: nil, cursor: cursor, limit: Self.exportPage)
            return (page.items.map(CSVExport.row), page.nextCursor.flatMap(PageCursor.init(token:)))
        }
    }

    private func audit(_ entry: AuditEntry) async throws {
        try await postgres.withConnection { try AuditLog.record(entry, on: $0) }
    }

    /// A streamed `text/csv` attachment: the header, then one page of rows per
    /// query until a page says there is no next one. An error after the first
    /// byte can only cut the stream short, which the client sees as a broken download.
    static func csv(
        name: String, header: [String],
        page: @escaping @Sendable (PageCursor?) async throws -> (rows: [[String?]], next: PageCursor?)
    ) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(name).csv\""
        headers[.cacheControl] = "no-store"
        return Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: CSVExport.line(header)))
                var cursor: PageCursor?
                repeat {
                    let (rows, next) = try await page(cursor)
                    if !rows.isEmpty { try await writer.write(ByteBuffer(string: rows.map(CSVExport.line).joined())) }
                    cursor = next
                } while cursor != nil
                try await writer.finish(nil)
            })
    }

    /// `campaign_id`, `contact_id`, `phone` (any form the tenant's country
    /// reads), `status`, `since` and `until` (RFC 3339).
    private func filter(_ request: Request, tenantID: String) async throws -> MessageFilter {
        let parameters = request.uri.queryParameters
        var filter = MessageFilter()
        filter.campaignID = try Self.uuid(parameters.get("campaign_id"), field: "campaign_id")
        filter.contactID = try Self.uuid(parameters.get("contact_id"), field: "contact_id")
        if let raw = parameters.get("status") {
            guard let status = JobStatus(rawValue: raw) else {
                throw APIError.badRequest(
                    "status must be one of \(JobStatus.allCases.map(\.rawValue).joined(separator: ", "))", details: ["status"])
            }
            filter.status = status
        }
        filter.since = try Self.date(parameters.get("since"), field: "since")
        filter.until = try Self.date(parameters.get("until"), field: "until")
        if let raw = parameters.get("phone"), !raw.isEmpty {
            guard let tenant = try await tenants.find(id: tenantID) else { throw APIError.notFound("tenant") }
            do {
                filter.phone = try PhoneNumber.parse(raw, defaultCountry: tenant.defaultCountry).e164
            } catch {
                throw APIError.invalid("phone", error.message(for: raw))
            }
        }
        return filter
    }

    static func uuid(_ value: String?, field: String) throws -> String? {
        guard let value else { return nil }
        guard let uuid = UUID(uuidString: value) else { throw APIError.badRequest("\(field) must be an id", details: [field]) }
        return uuid.uuidString.lowercased()
    }

    static func date(_ value: String?, field: String) throws -> Date? {
        guard let value else { return nil }
        guard let date = parseRFC3339(value) else {
            throw APIError.badRequest("\(field) must be an RFC 3339 date-time such as 2026-11-25T09:00:00Z", details: [field])
        }
        return date
    }
}

extension MessageFilter: CustomStringConvertible {
    /// Which filters were given, for the audit entry (no phone number in it).
    public var description: String {
        var parts: [String] = []
        if let campaignID { parts.append("campaign_id=\(campaignID)") }
        if let contactID { parts.append("contact_id=\(contactID)") }
        if phone != nil { parts.append("phone") }
        if let status { parts.append("status=\(status.rawValue)") }
        if let since { parts.append("since=\(rfc3339(since))") }
        if let until { parts.append("until=\(rfc3339(until))") }
        return parts.joined(separator: " ")
    }
}

extension MessageLogEntry: ResponseEncodable {}
