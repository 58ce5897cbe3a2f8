import Foundation
import Hummingbird
import Postgres
import SMSCore

/// Contacts of a tenant: CRUD, search and filters, cursor pagination.
struct ContactController {
    let contacts: ContactStore
    let tenants: TenantStore
    /// A deleted contact's pending jobs are cancelled through it.
    let jobs: SendJobs

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/contacts") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/contacts") { request, context in try await create(request, context: context) }
        router.get("tenants/:tenantId/contacts/:contactId") { _, context in try await show(context: context) }
        router.patch("tenants/:tenantId/contacts/:contactId") { request, context in try await update(request, context: context) }
        router.delete("tenants/:tenantId/contacts/:contactId") { _, context in try await delete(context: context) }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<Contact> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        return PageBody(try await contacts.list(tenantID: access.tenantID, query: try Self.query(request), cursor: page.cursor, limit: page.limit))
    }

    /// The list's filters (`search`, `list_id`, `opted_out`, `consent`), shared with the CSV export.
    static func query(_ request: Request) throws -> ContactQuery {
        let parameters = request.uri.queryParameters
        var query = ContactQuery()
        query.search = parameters.get("search").flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
        if let list = parameters.get("list_id") {
            guard let uuid = UUID(uuidString: list) else { throw APIError.badRequest("list_id must be a list id", details: ["list_id"]) }
            query.listID = uuid.uuidString.lowercased()
        }
        query.optedOut = try Self.flag(parameters.get("opted_out"), name: "opted_out")
        query.hasConsent = try Self.flag(parameters.get("consent"), name: "consent")
        return query
    }

    static func flag(_ value: String?, name: String) throws -> Bool? {
        switch value {
        case nil: nil
        case "true": true
        case "false": false
        default: throw APIError.badRequest("\(name) must be true or false", details: [name])
        }
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Contact> {
        let access = try context.tenantAccess(minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: ContactBody.self, context: context)
        guard let tenant = try await tenants.find(id: access.tenantID) else { throw APIError.notFound("tenant") }
        guard let rawPhone = body.phone else { throw APIError.invalid("phone", "is required") }
        var fields = try body.validated(defaultCountry: tenant.defaultCountry)
        let phone = fields.phone ?? rawPhone
        fields.phone = nil
        do {
            let contact = try await contacts.create(
                tenantID: access.tenantID, phone: phone, fields: fields,
                audit: context.audit(tenantID: access.tenantID, action: "contact.create", targetType: "contact"))
            return JSONResponse(status: .created, body: contact)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict("a contact with this phone number already exists")
        }
    }

    func show(context: AppRequestContext) async throws -> Contact {
        let access = try context.tenantAccess(minimum: .viewer)
        let id = try context.uuidParameter("contactId", resource: "contact")
        guard let contact = try await contacts.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("contact") }
        return contact
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> Contact {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("contactId", resource: "contact")
        var request = request
        let body = try await request.decodeJSON(as: ContactBody.self, context: context)
        guard let tenant = try await tenants.find(id: access.tenantID) else { throw APIError.notFound("tenant") }
        let fields = try body.validated(defaultCountry: tenant.defaultCountry)
        do {
            guard
                let contact = try await contacts.update(
                    tenantID: access.tenantID, id: id, fields: fields,
                    audit: context.audit(
                        tenantID: access.tenantID, action: "contact.update", targetType: "contact", targetID: id,
                        details: ["fields": body.presentFields.joined(separator: ",")]))
            else { throw APIError.notFound("contact") }
            return contact
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict("another contact already has this phone number")
        }
    }

    func delete(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("contactId", resource: "contact")
        let deleted = try await contacts.delete(
            tenantID: access.tenantID, id: id,
            audit: context.audit(tenantID: access.tenantID, action: "contact.delete", targetType: "contact", targetID: id), jobs: jobs)
        guard deleted else { throw APIError.notFound("contact") }
        return Response(status: .noContent)
    }
}

/// The JSON of a contact create or update.
struct ContactBody: Decodable {
    var phone: String?
    var firstName: String??
    var lastName: String??
    var email: String??
    var timezone: String??
    var consentSource: String??
    var consentAt: Date?
    var attributes: [String: JSONValue]?
    var presentFields: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case phone, firstName, lastName, email, timezone, consentSource, consentAt, attributes
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        phone = try c.decodeIfPresent(String.self, forKey: .phone)
        firstName = try c.decodeNullable(String.self, forKey: .firstName)
        lastName = try c.decodeNullable(String.self, forKey: .lastName)
        email = try c.decodeNullable(String.self, forKey: .email)
        timezone = try c.decodeNullable(String.self, forKey: .timezone)
        consentSource = try c.decodeNullable(String.self, forKey: .consentSource)
        consentAt = try c.decodeIfPresent(Date.self, forKey: .consentAt)
        attributes = try c.decodeIfPresent([String: JSONValue].self, forKey: .attributes)
        presentFields = CodingKeys.allCases.filter { c.contains($0) }.map { $0.stringValue.snakeCased }
    }

    func validated(defaultCountry: String) throws -> ContactFields {
        var fields = ContactFields()
        if let phone {
            do {
                fields.phone = try PhoneNumber.parse(phone, defaultCountry: defaultCountry).e164
            } catch {
                throw APIError.invalid("phone", error.message(for: phone))
            }
        }
        fields.firstName = try Self.text(firstName, field: "first_name", max: 100)
        fields.lastName = try Self.text(lastName, field: "last_name", max: 100)
        fields.email = try Self.text(email, field: "email", max: 254)
        if case .some(.some(let address)) = fields.email, !address.contains("@") {
            throw APIError.invalid("email", "is not an email address")
        }
        if case .some(.some(let zone)) = timezone {
            guard let valid = RecipientTimeZone.validatedIdentifier(zone) else {
                throw APIError.invalid("timezone", "\"\(zone)\" is not an IANA time zone: \(RecipientTimeZone.hint(for: zone))")
            }
            fields.timezone = .some(valid)
        } else {
            fields.timezone = timezone
        }
        fields.consentSource = try Self.text(consentSource, field: "consent_source", max: 100)
        if consentAt != nil, consentSource == nil { throw APIError.invalid("consent_at", "needs consent_source") }
        if let at = consentAt, at > Date().addingTimeInterval(300) { throw APIError.invalid("consent_at", "is in the future") }
        fields.consentAt = consentAt
        if let attributes {
            let size = (try? StorageSize.bytes(of: attributes)) ?? Int.max
            guard size <= 16_384 else { throw APIError.invalid("attributes", "at most 16 KB of JSON") }
        }
        fields.attributes = attributes
        return fields
    }

    /// Trims text; empty becomes null.
    static func text(_ value: String??, field: String, max: Int) throws -> String?? {
        guard case .some(let inner) = value else { return nil }
        guard let text = inner?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else { return .some(nil) }
        guard text.count <= max else { throw APIError.invalid(field, "at most \(max) characters") }
        return .some(text)
    }
}

enum StorageSize {
    static func bytes(of value: some Encodable) throws -> Int { try JSONEncoder().encode(value).count }
}

extension String {
    var snakeCased: String {
        var out = ""
        for character in self {
            if character.isUppercase { out += "_" + character.lowercased() } else { out.append(character) }
        }
        return out
    }
}
