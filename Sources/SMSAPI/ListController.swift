import Foundation
import Hummingbird
import Postgres
import SMSCore

/// Contact lists of a tenant: CRUD (member and up to write), and adding and
/// removing members in bulk. Every write is audited.
struct ListController {
    let lists: ContactListStore
    let contacts: ContactStore

    /// A membership request may carry at most this many contact ids.
    static let bulkLimit = 10_000

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/lists") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/lists") { request, context in try await create(request, context: context) }
        router.get("tenants/:tenantId/lists/:listId") { _, context in try await show(context: context) }
        router.patch("tenants/:tenantId/lists/:listId") { request, context in try await update(request, context: context) }
        router.delete("tenants/:tenantId/lists/:listId") { _, context in try await delete(context: context) }
        router.get("tenants/:tenantId/lists/:listId/members") { request, context in try await members(request, context: context) }
        router.post("tenants/:tenantId/lists/:listId/members") { request, context in try await addMembers(request, context: context) }
        router.delete("tenants/:tenantId/lists/:listId/members") { request, context in
            try await removeMembers(request, context: context)
        }
    }

    struct MembersRequest: Decodable {
        let contactIds: [String]
    }

    struct MembersAdded: Encodable, ResponseEncodable {
        let added: Int
        let alreadyMembers: Int
        let notFound: [String]
    }

    struct MembersRemoved: Encodable, ResponseEncodable {
        let removed: Int
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<ContactList> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        return PageBody(try await lists.list(tenantID: access.tenantID, cursor: page.cursor, limit: page.limit))
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<ContactList> {
        let access = try context.tenantAccess(minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: ListBody.self, context: context)
        guard case .some(.some) = body.name else { throw APIError.invalid("name", "is required") }
        let change = try body.validated()
        do {
            let list = try await lists.create(
                tenantID: access.tenantID, name: change.name ?? "", description: change.description ?? nil,
                audit: context.audit(tenantID: access.tenantID, action: "list.create", targetType: "contact_list"))
            return JSONResponse(status: .created, body: list)
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict("a list with this name already exists")
        }
    }

    func show(context: AppRequestContext) async throws -> ContactList {
        let access = try context.tenantAccess(minimum: .viewer)
        let id = try context.uuidParameter("listId", resource: "list")
        guard let list = try await lists.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("list") }
        return list
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> ContactList {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("listId", resource: "list")
        var request = request
        let body = try await request.decodeJSON(as: ListBody.self, context: context)
        // An empty patch changes nothing and answers the list as it is (not audited).
        guard !body.presentFields.isEmpty else {
            guard let list = try await lists.find(tenantID: access.tenantID, id: id) else { throw APIError.notFound("list") }
            return list
        }
        let change = try body.validated()
        do {
            guard
                let list = try await lists.update(
                    tenantID: access.tenantID, id: id, change: change,
                    audit: context.audit(
                        tenantID: access.tenantID, action: "list.update", targetType: "contact_list", targetID: id,
                        details: ["fields": body.presentFields.joined(separator: ",")]))
            else { throw APIError.notFound("list") }
            return list
        } catch let error as PostgresError where error.sqlState == .uniqueViolation {
            throw APIError.conflict("another list already has this name")
        }
    }

    func delete(context: AppRequestContext) async throws -> Response {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("listId", resource: "list")
        let deleted = try await lists.delete(
            tenantID: access.tenantID, id: id,
            audit: context.audit(tenantID: access.tenantID, action: "list.delete", targetType: "contact_list", targetID: id))
        guard deleted else { throw APIError.notFound("list") }
        return Response(status: .noContent)
    }

    /// The list's members, through the contacts listing's own filter.
    func members(_ request: Request, context: AppRequestContext) async throws -> PageBody<Contact> {
        let access = try context.tenantAccess(minimum: .viewer)
        let id = try context.uuidParameter("listId", resource: "list")
        let page = try PageRequest(request)
        guard try await lists.find(tenantID: access.tenantID, id: id) != nil else { throw APIError.notFound("list") }
        var query = ContactQuery()
        query.listID = id
        return PageBody(try await contacts.list(tenantID: access.tenantID, query: query, cursor: page.cursor, limit: page.limit))
    }

    func addMembers(_ request: Request, context: AppRequestContext) async throws -> MembersAdded {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("listId", resource: "list")
        let ids = try await contactIDs(request, context: context)
        guard
            let result = try await lists.addMembers(
                tenantID: access.tenantID, listID: id, contactIDs: ids,
                audit: context.audit(
                    tenantID: access.tenantID, action: "list.members_add", targetType: "contact_list", targetID: id,
                    details: ["submitted": String(ids.count)]))
        else { throw APIError.notFound("list") }
        return MembersAdded(added: result.added, alreadyMembers: result.alreadyMembers, notFound: result.notFound)
    }

    func removeMembers(_ request: Request, context: AppRequestContext) async throws -> MembersRemoved {
        let access = try context.tenantAccess(minimum: .member)
        let id = try context.uuidParameter("listId", resource: "list")
        let ids = try await contactIDs(request, context: context)
        guard
            let removed = try await lists.removeMembers(
                tenantID: access.tenantID, listID: id, contactIDs: ids,
                audit: context.audit(tenantID: access.tenantID, action: "list.members_remove", targetType: "contact_list", targetID: id))
        else { throw APIError.notFound("list") }
        return MembersRemoved(removed: removed)
    }

    private func contactIDs(_ request: Request, context: AppRequestContext) async throws -> [String] {
        var request = request
        let body = try await request.decodeJSON(as: MembersRequest.self, context: context)
        guard !body.contactIds.isEmpty else { throw APIError.invalid("contact_ids", "is empty") }
        guard body.contactIds.count <= Self.bulkLimit else {
            throw APIError.invalid("contact_ids", "at most \(Self.bulkLimit) per request")
        }
        return body.contactIds
    }
}

/// The JSON of a list create or update.
struct ListBody: Decodable {
    var name: String??
    var description: String??
    var presentFields: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeNullable(String.self, forKey: .name)
        description = try c.decodeNullable(String.self, forKey: .description)
        presentFields = CodingKeys.allCases.filter { c.contains($0) }.map(\.stringValue)
    }

    /// Trims both fields; a name cannot be cleared, an empty description becomes null.
    func validated() throws -> ContactListChange {
        var change = ContactListChange()
        if case .some(let value) = name {
            let trimmed = value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard !trimmed.isEmpty else { throw APIError.invalid("name", "must not be empty") }
            guard trimmed.count <= 200 else { throw APIError.invalid("name", "at most 200 characters") }
            change.name = trimmed
        }
        change.description = try ContactBody.text(description, field: "description", max: 1000)
        return change
    }
}

extension ContactList: ResponseEncodable {}
