import Foundation
import Hummingbird
import Postgres
import SMSCore

/// The numbers a tenant sends from: viewers read, admins write. Every write is
/// audited with the phone masked.
struct SendingNumberController {
    let numbers: SendingNumberStore
    let tenants: TenantStore

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/numbers") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/numbers") { request, context in try await create(request, context: context) }
        router.get("tenants/:tenantId/numbers/:numberId") { _, context in try await show(context: context) }
        router.patch("tenants/:tenantId/numbers/:numberId") { request, context in try await update(request, context: context) }
        router.delete("tenants/:tenantId/numbers/:numberId") { _, context in try await delete(context: context) }
    }

    /// Deliberately the same for every tenant: saying whose number it is would
    /// leak another tenant's configuration.
    static let phoneTaken = "this phone number is already registered as a sending number"

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<SendingNumber> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        let active = try ContactController.flag(request.uri.queryParameters.get("active"), name: "active")
        return PageBody(try await numbers.list(tenantID: access.tenantID, active: active, cursor: page.cursor, limit: page.limit))
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<SendingNumber> {
        let access = try context.tenantAccess(minimum: .admin)
        var request = request
        let body = try await request.decodeJSON(as: SendingNumberBody.self, context: context)
        guard body.phone != nil else { throw APIError.invalid("phone", "is required") }
        guard body.kind != nil else { throw APIError.invalid("kind", "is required: long_code, toll_free or short_code") }
        let fields = try body.validated(defaultCountry: try await defaultCountry(access.tenantID))
        guard let phone = fields.phone, let kind = fields.kind else { throw APIError.invalid("phone", "is required") }
        do {
            let number = try await numbers.create(
                tenantID: access.tenantID, phone: phone, kind: kind, fields: fields,
                audit: context.audit(tenantID: access.tenantID, action: "number.create", targetType: "sending_number"))
            return JSONResponse(status: .created, body: number)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict(Self.phoneTaken)
        }
    }

    func show(context: AppRequestContext) async throws -> SendingNumber {
        let access = try context.tenantAccess(minimum: .viewer)
        let id = try context.uuidParameter("numberId", resource: "sending number")
        guard let number = try await numbers.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("sending number") }
        return number
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> SendingNumber {
        let access = try context.tenantAccess(minimum: .admin)
        let id = try context.uuidParameter("numberId", resource: "sending number")
        var request = request
        let body = try await request.decodeJSON(as: SendingNumberBody.self, context: context)
        // An empty patch changes nothing and answers the number as it is (not audited).
        guard !body.presentFields.isEmpty else {
            guard let number = try await numbers.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("sending number") }
            return number
        }
        let fields = try body.validated(defaultCountry: try await defaultCountry(access.tenantID))
        do {
            guard
                let number = try await numbers.update(
                    tenantID: access.tenantID, id: id, fields: fields,
                    audit: context.audit(
                        tenantID: access.tenantID, action: "number.update", targetType: "sending_number", targetID: id,
                        details: ["fields": body.presentFields.joined(separator: ",")]))
            else { throw APIError.notFound("sending number") }
            return number
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict(Self.phoneTaken)
        }
    }

    /// A real delete only while no send job references the number; after that
    /// the number stays, deactivated, so job history keeps its sender.
    func delete(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .admin)
        let id = try context.uuidParameter("numberId", resource: "sending number")
        let outcome = try await numbers.delete(
            tenantID: access.tenantID, id: id,
            audit: context.audit(tenantID: access.tenantID, action: "number.delete", targetType: "sending_number", targetID: id))
        switch outcome {
        case .deleted: return Response(status: .noContent)
        case .notFound: throw APIError.notFound("sending number")
        case .referencedByJobs:
            throw APIError.conflict(#"send jobs reference this number, so it cannot be deleted; deactivate it with PATCH {"active": false}"#)
        }
    }

    private func defaultCountry(_ tenantID: String) async throws -> String {
        guard let tenant = try await tenants.find(id: tenantID) else { throw APIError.notFound("tenant") }
        return tenant.defaultCountry
    }
}

/// The JSON of a sending number create or update.
struct SendingNumberBody: Decodable {
    var phone: String?
    var kind: String?
    var throughputSps: Double?
    /// Elements are checked by ``validated(defaultCountry:)`` so a bad entry is a 422 naming the field.
    var warmupSchedule: [JSONValue]??
    var warmupStartedAt: Date??
    var active: Bool?
    var label: String??
    var presentFields: [String] = []

    static let maxThroughput = 1000.0
    static let maxWarmupDays = 90
    static let warmupCaps = 1...1_000_000

    enum CodingKeys: String, CodingKey, CaseIterable {
        case phone, kind, throughputSps, warmupSchedule, warmupStartedAt, active, label
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        phone = try c.decodeIfPresent(String.self, forKey: .phone)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        throughputSps = try c.decodeIfPresent(Double.self, forKey: .throughputSps)
        warmupSchedule = try c.decodeNullable([JSONValue].self, forKey: .warmupSchedule)
        warmupStartedAt = try c.decodeNullable(Date.self, forKey: .warmupStartedAt)
        active = try c.decodeIfPresent(Bool.self, forKey: .active)
        label = try c.decodeNullable(String.self, forKey: .label)
        presentFields = CodingKeys.allCases.filter { c.contains($0) }.map { $0.stringValue.snakeCased }
    }

    func validated(defaultCountry: String) throws -> SendingNumberFields {
        var fields = SendingNumberFields()
        if let phone {
            do {
                fields.phone = try PhoneNumber.parse(phone, defaultCountry: defaultCountry).e164
            } catch {
                throw APIError.invalid("phone", error.message(for: phone))
            }
        }
        if let kind {
            guard let value = SendingNumberKind(rawValue: kind) else {
                throw APIError.invalid("kind", "must be long_code, toll_free or short_code")
            }
            fields.kind = value
        }
        if let throughputSps {
            // The column is numeric(8,2): round first so what passes is what is stored.
            let rounded = (throughputSps * 100).rounded() / 100
            guard throughputSps.isFinite, rounded > 0, rounded <= Self.maxThroughput else {
                throw APIError.invalid("throughput_sps", "must be more than 0 and at most 1000 segments per second (2 decimals)")
            }
            fields.throughputSps = rounded
        }
        if case .some(let schedule) = warmupSchedule {
            fields.warmupSchedule = .some(try schedule.map(Self.caps))
        }
        if case .some(.some(let start)) = warmupStartedAt, start > Date().addingTimeInterval(300) {
            throw APIError.invalid("warmup_started_at", "is in the future")
        }
        fields.warmupStartedAt = warmupStartedAt
        fields.active = active
        fields.label = try ContactBody.text(label, field: "label", max: 100)
        return fields
    }

    /// A schedule is 1 to 90 daily caps, each a whole number from 1 to 1,000,000.
    static func caps(_ schedule: [JSONValue]) throws -> [Int] {
        guard !schedule.isEmpty else { throw APIError.invalid("warmup_schedule", "must list at least one daily cap, or be null") }
        guard schedule.count <= maxWarmupDays else {
            throw APIError.invalid("warmup_schedule", "at most \(maxWarmupDays) days")
        }
        return try schedule.enumerated().map { index, value in
            guard case .number(let n) = value, n.rounded() == n, Double(warmupCaps.lowerBound) <= n, n <= Double(warmupCaps.upperBound)
            else { throw APIError.invalid("warmup_schedule", "day \(index + 1) must be a whole number from 1 to 1,000,000") }
            return Int(n)
        }
    }
}

extension SendingNumber: ResponseEncodable {}
