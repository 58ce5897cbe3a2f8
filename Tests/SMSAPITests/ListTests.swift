import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Contact lists")
struct ListTests {
    @Test("a list can be created, read, renamed and deleted, and every change is audited")
    func listCRUD() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(tenant.id)/lists", as: .bearer(key), json: ["name": "  VIPs  ", "description": "Best customers"])
            #expect(created.status == .created)
            #expect(created.object["name"] as? String == "VIPs")
            #expect(created.object["member_count"] as? Int == 0)
            let id = try #require(created.object["id"] as? String)

            let renamed = try await client.call(
                .patch, "/tenants/\(tenant.id)/lists/\(id)", as: .bearer(key), json: ["name": "Gold", "description": NSNull()])
            #expect(renamed.status == .ok)
            #expect(renamed.object["name"] as? String == "Gold")
            #expect(renamed.object["description"] is NSNull)

            let shown = try await client.call(.get, "/tenants/\(tenant.id)/lists/\(id)", as: .bearer(key))
            #expect(shown.object["name"] as? String == "Gold")
            let listing = try await client.call(.get, "/tenants/\(tenant.id)/lists", as: .bearer(key))
            #expect((listing.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [id])

            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/lists/\(id)", as: .bearer(key)).status == .noContent)
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/lists/\(id)", as: .bearer(key)).status == .notFound)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/lists/\(id)", as: .bearer(key)).status == .notFound)
        }
        #expect(try await auditActions(api, tenant: tenant.id, like: "list.%") == ["list.create", "list.update", "list.delete"])
        await api.shutdown()
    }

    @Test("a list name that the tenant already uses is a 409, on create and on rename")
    func duplicateNameConflicts() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let other = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let otherKey = try await api.makeKey(role: .member, in: other)
        try await api.test { client in
            #expect(try await client.call(.post, "/tenants/\(tenant.id)/lists", as: .bearer(key), json: ["name": "Newsletter"]).status == .created)
            let duplicate = try await client.call(.post, "/tenants/\(tenant.id)/lists", as: .bearer(key), json: ["name": "Newsletter"])
            #expect(duplicate.status == .conflict)
            #expect(duplicate.errorCode == "conflict")

            let second = try await client.call(.post, "/tenants/\(tenant.id)/lists", as: .bearer(key), json: ["name": "Promos"])
            let secondID = try #require(second.object["id"] as? String)
            let rename = try await client.call(.patch, "/tenants/\(tenant.id)/lists/\(secondID)", as: .bearer(key), json: ["name": "Newsletter"])
            #expect(rename.status == .conflict)

            // Names are unique per tenant only.
            #expect(try await client.call(.post, "/tenants/\(other.id)/lists", as: .bearer(otherKey), json: ["name": "Newsletter"]).status == .created)
        }
        await api.shutdown()
    }

    @Test("a missing or blank name and an empty or mistyped id list are refused; an empty patch changes nothing")
    func invalidBodies() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let list = try await makeList(api, tenant: tenant.id, name: "Existing")
        let cases: [(HTTPRequest.Method, String, String, HTTPResponse.Status)] = [
            (.post, "", #"{"description": "x"}"#, .unprocessableContent),
            (.post, "", #"{"name": "   "}"#, .unprocessableContent),
            (.patch, "/\(list)", #"{"name": null}"#, .unprocessableContent),
            (.patch, "/\(list)", #"{}"#, .ok),  // an empty patch changes nothing and answers the list
            (.post, "/\(list)/members", #"{"contact_ids": []}"#, .unprocessableContent),
            (.post, "/\(list)/members", #"{"contact_ids": "all"}"#, .badRequest),
            (.post, "/\(UUID().uuidString)/members", #"{"contact_ids": ["x"]}"#, .notFound),
        ]
        try await api.test { client in
            for (method, suffix, body, status) in cases {
                let response = try await client.executeRequest(
                    uri: "/tenants/\(tenant.id)/lists" + suffix, method: method,
                    headers: [.authorization: "Bearer \(key)", .contentType: "application/json"], body: ByteBuffer(string: body))
                #expect(response.status == status, "\(method) \(suffix) \(body)")
            }
        }
        await api.shutdown()
    }

    @Test("bulk add adds the tenant's contacts once and reports another tenant's and unknown ids in not_found")
    func bulkAddReportsNotFound() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let other = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let mine = try await makeContacts(api, tenant: tenant.id, count: 3)
        let foreign = try await makeContacts(api, tenant: other.id, count: 1)[0]
        let unknown = UUID().uuidString.lowercased()
        let list = try await makeList(api, tenant: tenant.id, name: "Audience")
        try await api.test { client in
            let added = try await client.call(
                .post, "/tenants/\(tenant.id)/lists/\(list)/members", as: .bearer(key),
                json: ["contact_ids": [mine[0], foreign, mine[1], unknown, mine[2], mine[0]]])
            #expect(added.status == .ok)
            #expect(added.object["added"] as? Int == 3)
            #expect(added.object["already_members"] as? Int == 0)
            #expect(added.object["not_found"] as? [String] == [foreign, unknown])

            let again = try await client.call(
                .post, "/tenants/\(tenant.id)/lists/\(list)/members", as: .bearer(key), json: ["contact_ids": [mine[0].uppercased()]])
            #expect(again.object["added"] as? Int == 0)
            #expect(again.object["already_members"] as? Int == 1)
            #expect(again.object["not_found"] as? [String] == [])

            let shown = try await client.call(.get, "/tenants/\(tenant.id)/lists/\(list)", as: .bearer(key))
            #expect(shown.object["member_count"] as? Int == 3)
        }
        let members = try await api.services.postgres.query(
            "SELECT contact_id::text FROM contact_list_members WHERE list_id = $1::uuid ORDER BY contact_id", list
        ).map { try $0.decode("contact_id", as: String.self) }
        #expect(members == mine.sorted())
        let details = try await api.services.postgres.query(
            "SELECT details::text FROM audit_log WHERE tenant_id = $1::uuid AND action = 'list.members_add' ORDER BY id LIMIT 1", tenant.id
        )[0].decode("details", as: PostgresJSON.self).decode(as: [String: String].self)
        #expect(details["added"] == "3")
        #expect(details["not_found"] == "2")
        await api.shutdown()
    }

    @Test("the members listing pages through the list's contacts only")
    func membersPaginate() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let viewer = try await api.makeKey(role: .viewer, in: tenant)
        let contacts = try await makeContacts(api, tenant: tenant.id, count: 6)
        let list = try await makeList(api, tenant: tenant.id, name: "Five of six")
        _ = try await ContactListStore(postgres: api.services.postgres).addMembers(
            tenantID: tenant.id, listID: list, contactIDs: Array(contacts.prefix(5)),
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.members_add"))
        try await api.test { client in
            var seen: [String] = []
            var pages = 0
            var cursor: String?
            repeat {
                let response = try await client.call(
                    .get, "/tenants/\(tenant.id)/lists/\(list)/members?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .bearer(viewer))
                #expect(response.status == .ok)
                seen += (response.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
                cursor = response.object["next_cursor"] as? String
                pages += 1
            } while cursor != nil && pages < 10
            #expect(seen == Array(contacts.prefix(5)))
            #expect(pages == 3)
            let missing = try await client.call(.get, "/tenants/\(tenant.id)/lists/\(UUID().uuidString)/members", as: .bearer(viewer))
            #expect(missing.status == .notFound)
        }
        await api.shutdown()
    }

    @Test("bulk removal takes out the named members and counts only those that were members")
    func bulkRemove() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let contacts = try await makeContacts(api, tenant: tenant.id, count: 3)
        let list = try await makeList(api, tenant: tenant.id, name: "Shrinking")
        _ = try await ContactListStore(postgres: api.services.postgres).addMembers(
            tenantID: tenant.id, listID: list, contactIDs: contacts,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.members_add"))
        try await api.test { client in
            let removed = try await client.call(
                .delete, "/tenants/\(tenant.id)/lists/\(list)/members", as: .bearer(key),
                json: ["contact_ids": [contacts[0], contacts[2], UUID().uuidString, "not-an-id"]])
            #expect(removed.status == .ok)
            #expect(removed.object["removed"] as? Int == 2)
            let shown = try await client.call(.get, "/tenants/\(tenant.id)/lists/\(list)", as: .bearer(key))
            #expect(shown.object["member_count"] as? Int == 1)
            let members = try await client.call(.get, "/tenants/\(tenant.id)/lists/\(list)/members", as: .bearer(key))
            #expect((members.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [contacts[1]])
            // The contacts themselves stay.
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts/\(contacts[0])", as: .bearer(key)).status == .ok)
        }
        #expect(try await auditActions(api, tenant: tenant.id, like: "list.members_%") == ["list.members_add", "list.members_remove"])
        await api.shutdown()
    }
}

/// Contacts made straight through the store, oldest first.
private func makeContacts(_ api: APIHarness, tenant: String, count: Int) async throws -> [String] {
    var ids: [String] = []
    for n in 0..<count {
        let contact = try await ContactStore(postgres: api.services.postgres).create(
            tenantID: tenant, phone: "+614123450\(String(format: "%02d", n))", fields: ContactFields(),
            audit: AuditEntry(tenantID: tenant, actor: .cli, action: "contact.create"))
        ids.append(contact.id)
    }
    return ids
}

private func makeList(_ api: APIHarness, tenant: String, name: String) async throws -> String {
    try await ContactListStore(postgres: api.services.postgres).create(
        tenantID: tenant, name: name, description: nil, audit: AuditEntry(tenantID: tenant, actor: .cli, action: "list.create")
    ).id
}

private func auditActions(_ api: APIHarness, tenant: String, like pattern: String) async throws -> [String] {
    try await api.services.postgres.query(
        "SELECT action FROM audit_log WHERE tenant_id = $1::uuid AND action LIKE $2 ORDER BY id", tenant, pattern
    ).map { try $0.decode("action", as: String.self) }
}
