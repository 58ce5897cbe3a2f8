import Foundation
import Hummingbird
import SMSCore

/// The tenant's do-not-contact list. Adding (member and up) cancels pending
/// jobs to the number; removing needs admin. Both are audited.
struct DoNotContactController {
    let entries: DoNotContactStore
    let tenants: TenantStore

    /// A bulk request may carry at most this many numbers.
    static let bulkLimit = 10_000

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/dnc") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/dnc") { request, context in try await add(request, context: context) }
        router.post("tenants/:tenantId/dnc/bulk") { request, context in try await addBulk(request, context: context) }
        router.delete("tenants/:tenantId/dnc/:entryId") { _, context in try await remove(context: context) }
    }

    struct AddRequest: Decodable {
        let phone: String
        let reason: String?
    }

    struct BulkRequest: Decodable {
        let phones: [String]
        let reason: String?
    }

    struct Rejected: Encodable {
        let index: Int
        let reason: String
    }

    struct BulkResult: Encodable, ResponseEncodable {
        let added: Int
        let alreadyPresent: Int
        let cancelledJobs: Int
        let rejected: [Rejected]
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<DoNotContactEntry> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        let search = request.uri.queryParameters.get("search").map { String($0.prefix(32)) }
        return PageBody(try await entries.list(tenantID: access.tenantID, search: search, cursor: page.cursor, limit: page.limit))
    }

    func add(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<DoNotContactEntry> {
        let access = try context.tenantAccess(minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: AddRequest.self, context: context)
        let phone = try await normalise(body.phone, tenantID: access.tenantID, field: "phone")
        let reason = try Self.reason(body.reason)
        let result = try await entries.add(
            tenantID: access.tenantID, phones: [phone], reason: reason, source: source(context), createdBy: userID(context),
            audit: context.audit(tenantID: access.tenantID, action: "dnc.add", targetType: "do_not_contact"))
        guard let entry = try await entries.find(tenantID: access.tenantID, phone: phone) else { throw APIError.notFound("entry") }
        return JSONResponse(status: result.added == 1 ? .created : .ok, body: entry)
    }

    func addBulk(_ request: Request, context: AppRequestContext) async throws -> BulkResult {
        let access = try context.tenantAccess(minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: BulkRequest.self, context: context)
        guard !body.phones.isEmpty else { throw APIError.invalid("phones", "is empty") }
        guard body.phones.count <= Self.bulkLimit else { throw APIError.invalid("phones", "at most \(Self.bulkLimit) per request") }
        let reason = try Self.reason(body.reason)
        guard let tenant = try await tenants.find(id: access.tenantID) else { throw APIError.notFound("tenant") }
        var valid: [String] = []
        var rejected: [Rejected] = []
        for (index, raw) in body.phones.enumerated() {
            do {
                valid.append(try PhoneNumber.parse(raw, defaultCountry: tenant.defaultCountry).e164)
            } catch {
                rejected.append(Rejected(index: index, reason: error.message(for: raw)))
            }
        }
        var result = DoNotContactAddition(added: 0, alreadyPresent: 0, cancelledJobs: 0)
        if !valid.isEmpty {
            result = try await entries.add(
                tenantID: access.tenantID, phones: valid, reason: reason, source: source(context), createdBy: userID(context),
                audit: context.audit(
                    tenantID: access.tenantID, action: "dnc.add_bulk", targetType: "do_not_contact",
                    details: ["submitted": String(body.phones.count), "rejected": String(rejected.count)]))
        }
        return BulkResult(added: result.added, alreadyPresent: result.alreadyPresent, cancelledJobs: result.cancelledJobs, rejected: rejected)
    }

    func remove(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .admin)
        let id = try context.uuidParameter("entryId", resource: "do-not-contact entry")
        let removed = try await entries.remove(
            tenantID: access.tenantID, id: id,
            audit: context.audit(tenantID: access.tenantID, action: "dnc.remove", targetType: "do_not_contact", targetID: id))
        guard removed != nil else { throw APIError.notFound("do-not-contact entry") }
        return Response(status: .noContent)
    }

    private func normalise(_ raw: String, tenantID: String, field: String) async throws -> String {
        guard let tenant = try await tenants.find(id: tenantID) else { throw APIError.notFound("tenant") }
        do {
            return try PhoneNumber.parse(raw, defaultCountry: tenant.defaultCountry).e164
        } catch {
            throw APIError.invalid(field, error.message(for: raw))
        }
    }

    private static func reason(_ raw: String?) throws -> String {
        let reason = raw?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard reason.count <= 200 else { throw APIError.invalid("reason", "at most 200 characters") }
        return reason.isEmpty ? "manual" : reason
    }

    private func source(_ context: AppRequestContext) -> DoNotContactSource {
        if case .apiKey = context.principal?.kind { return .api }
        return .manual
    }

    private func userID(_ context: AppRequestContext) -> String? {
        if case .user = context.principal?.kind { return context.principal?.id }
        return nil
    }
}

extension Contact: ResponseEncodable {}
extension DoNotContactEntry: ResponseEncodable {}
