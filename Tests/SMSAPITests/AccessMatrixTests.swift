import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Postgres
import SMSCore
import Testing
import TestSupport

/// Every route that takes a tenant or resource id, with the lowest role allowed.
/// `{tenant}` and `{key}` are filled in per test.
struct TenantRoute: Sendable, CustomTestStringConvertible {
    let method: HTTPRequest.Method
    let path: String
    let minimum: Role
    /// A JSON body, as text.
    let body: String?

    var testDescription: String { "\(method) \(path)" }

    static let all: [TenantRoute] = [
        .init(method: .get, path: "/tenants/{tenant}", minimum: .viewer, body: nil),
        .init(method: .patch, path: "/tenants/{tenant}", minimum: .admin, body: #"{"name": "Renamed"}"#),
        .init(method: .post, path: "/tenants/{tenant}/pause", minimum: .member, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/resume", minimum: .admin, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/stats", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/inbox", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/queue", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/dead-letters", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/dead-letters/retry", minimum: .admin, body: nil),
        .init(method: .delete, path: "/tenants/{tenant}/dead-letters", minimum: .admin, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/api-keys", minimum: .admin, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/api-keys", minimum: .admin, body: #"{"name": "k", "role": "viewer"}"#),
        .init(method: .delete, path: "/tenants/{tenant}/api-keys/{key}", minimum: .admin, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/audit", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/members", minimum: .admin, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/invitations", minimum: .admin, body: nil),
        .init(method: .delete, path: "/tenants/{tenant}/invitations/{invitation}", minimum: .owner, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/members", minimum: .owner, body: #"{"email": "someone@example.com", "role": "viewer"}"#),
        .init(method: .patch, path: "/tenants/{tenant}/members/{member}", minimum: .owner, body: #"{"role": "viewer"}"#),
        .init(method: .delete, path: "/tenants/{tenant}/members/{member}", minimum: .owner, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/contacts", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/contacts", minimum: .member, body: #"{"phone": "0412 555 666"}"#),
        .init(method: .get, path: "/tenants/{tenant}/contacts/{contact}", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/contacts/{contact}/messages", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/messages", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/exports/messages", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/exports/contacts", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/exports/do-not-contact", minimum: .member, body: nil),
        .init(method: .patch, path: "/tenants/{tenant}/contacts/{contact}", minimum: .member, body: #"{"first_name": "X"}"#),
        .init(method: .delete, path: "/tenants/{tenant}/contacts/{contact}", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/dnc", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/dnc", minimum: .member, body: #"{"phone": "0412 555 777"}"#),
        .init(method: .post, path: "/tenants/{tenant}/dnc/bulk", minimum: .member, body: #"{"phones": ["0412 555 888"]}"#),
        .init(method: .delete, path: "/tenants/{tenant}/dnc/{entry}", minimum: .admin, body: nil),
        // POST takes text/csv or multipart, not JSON; the role and tenant checks come before the body is read.
        .init(method: .get, path: "/tenants/{tenant}/imports", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/imports", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/imports/{import}", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/campaigns", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/campaigns", minimum: .member, body: #"{"name": "C", "body_template": "Hi"}"#),
        .init(method: .get, path: "/tenants/{tenant}/campaigns/{campaign}", minimum: .viewer, body: nil),
        .init(method: .patch, path: "/tenants/{tenant}/campaigns/{campaign}", minimum: .member, body: #"{"name": "X"}"#),
        .init(method: .delete, path: "/tenants/{tenant}/campaigns/{campaign}", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/campaigns/{campaign}/preview", minimum: .viewer, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/campaigns/{campaign}/stats", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/campaigns/{campaign}/pause", minimum: .member, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/campaigns/{campaign}/resume", minimum: .member, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/campaigns/{campaign}/cancel", minimum: .member, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/campaigns/{campaign}/launch", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/lists", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/lists", minimum: .member, body: #"{"name": "Matrix list"}"#),
        .init(method: .get, path: "/tenants/{tenant}/lists/{list}", minimum: .viewer, body: nil),
        .init(method: .patch, path: "/tenants/{tenant}/lists/{list}", minimum: .member, body: #"{"name": "Renamed list"}"#),
        .init(method: .delete, path: "/tenants/{tenant}/lists/{list}", minimum: .member, body: nil),
        .init(method: .get, path: "/tenants/{tenant}/lists/{list}/members", minimum: .viewer, body: nil),
        .init(
            method: .post, path: "/tenants/{tenant}/lists/{list}/members", minimum: .member,
            body: #"{"contact_ids": ["00000000-0000-4000-8000-000000000000"]}"#),
        .init(
            method: .delete, path: "/tenants/{tenant}/lists/{list}/members", minimum: .member,
            body: #"{"contact_ids": ["00000000-0000-4000-8000-000000000000"]}"#),
        .init(method: .get, path: "/tenants/{tenant}/numbers", minimum: .viewer, body: nil),
        .init(method: .post, path: "/tenants/{tenant}/numbers", minimum: .admin, body: #"{"phone": "0412 555 999", "kind": "long_code"}"#),
        .init(method: .get, path: "/tenants/{tenant}/numbers/{number}", minimum: .viewer, body: nil),
        .init(method: .patch, path: "/tenants/{tenant}/numbers/{number}", minimum: .admin, body: #"{"active": false}"#),
        .init(method: .delete, path: "/tenants/{tenant}/numbers/{number}", minimum: .admin, body: nil),
    ]

    func uri(tenant: String, ids: ResourceIDs) -> String {
        var uri = path.replacingOccurrences(of: "{tenant}", with: tenant)
        for (placeholder, id) in ids.byPlaceholder { uri = uri.replacingOccurrences(of: "{\(placeholder)}", with: id) }
        return uri
    }
}

/// One resource of each kind in a tenant, for the routes that take ids.
struct ResourceIDs: Sendable {
    /// Placeholder name (as in `TenantRoute.path`, without braces) → id.
    let byPlaceholder: [String: String]

    static func make(in tenant: Tenant, api: APIHarness) async throws -> ResourceIDs {
        let secret = try await api.makeKey(role: .admin, in: tenant)
        let key = try await api.identity.principal(apiKey: secret)!.id
        let contact = try await ContactStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, phone: "+61412000\(Int.random(in: 100...999))", fields: ContactFields(),
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "contact.create"))
        _ = try await DoNotContactStore(postgres: api.services.postgres, queue: SendQueue(redis: api.services.redis)).add(
            tenantID: tenant.id, phones: ["+61412000001"], reason: "test", source: .manual, createdBy: nil,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "dnc.add"))
        let entry = try await DoNotContactStore(postgres: api.services.postgres, queue: SendQueue(redis: api.services.redis)).find(tenantID: tenant.id, phone: "+61412000001")!
        var fields = CampaignFields()
        fields.name = "Matrix"
        fields.bodyTemplate = "Hi"
        let campaign = try await CampaignStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, fields: fields, createdBy: nil, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.create"))
        let list = try await ContactListStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, name: "Matrix list \(UUID().uuidString.prefix(6))", description: nil,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.create"))
        _ = try await ContactListStore(postgres: api.services.postgres).addMembers(
            tenantID: tenant.id, listID: list.id, contactIDs: [contact.id],
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.members_add"))
        let number = try await SendingNumberStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, phone: "+6142\(Int.random(in: 1_000_000...9_999_999))", kind: .longCode, fields: SendingNumberFields(),
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "number.create"))
        let importBatch = try await ImportStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, csv: Array("phone\n0412000002\n".utf8), filename: "matrix.csv", contentType: "text/csv",
            options: .init(), createdBy: nil, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "import.create"))
        let member = try await api.makeUser(role: .member, in: tenant)
        let (invitation, _) = try await MemberStore(postgres: api.services.postgres).invite(
            tenantID: tenant.id, email: "matrix-\(UUID().uuidString.prefix(6))@example.com", role: .viewer, invitedBy: nil,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "member.invite"))
        return ResourceIDs(byPlaceholder: ["member": member.id, "key": key, "contact": contact.id, "entry": entry.id, "campaign": campaign.id,
            "list": list.id, "number": number.id, "import": importBatch.id, "invitation": invitation.id,
        ])
    }
}

extension TestClientProtocol {
    func call(_ route: TenantRoute, uri: String, as credential: Credential, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = credential.headers
        for field in extra { headers.append(field) }
        if route.body != nil { headers[.contentType] = "application/json" }
        return try await executeRequest(uri: uri, method: route.method, headers: headers, body: route.body.map { ByteBuffer(string: $0) })
    }
}

/// A snapshot of everything tenant B owns, to prove A's requests changed nothing.
func fingerprint(of tenantID: String, _ postgres: PostgresClient) async throws -> String {
    let rows = try await postgres.query(
        """
        SELECT (SELECT row_to_json(t)::text FROM tenants t WHERE id = $1::uuid) AS tenant,
               (SELECT count(*) FROM api_keys WHERE tenant_id = $1::uuid AND revoked_at IS NULL) AS keys,
               (SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid) AS audits,
               (SELECT string_agg(user_id::text || role, ',' ORDER BY user_id) FROM memberships WHERE tenant_id = $1::uuid) AS members,
               (SELECT coalesce(string_agg(row_to_json(c)::text, ',' ORDER BY id), '') FROM contacts c WHERE tenant_id = $1::uuid) AS contacts,
               (SELECT coalesce(string_agg(phone_e164, ',' ORDER BY phone_e164), '') FROM do_not_contact WHERE tenant_id = $1::uuid) AS dnc,
               (SELECT coalesce(string_agg(row_to_json(k)::text, ',' ORDER BY id), '') FROM campaigns k WHERE tenant_id = $1::uuid) AS campaigns,
               (SELECT coalesce(string_agg(row_to_json(l)::text || ':' || (SELECT count(*) FROM contact_list_members m WHERE m.list_id = l.id),
                                           ',' ORDER BY id), '')
                FROM contact_lists l WHERE tenant_id = $1::uuid) AS lists,
               (SELECT coalesce(string_agg(row_to_json(n)::text, ',' ORDER BY id), '') FROM sending_numbers n WHERE tenant_id = $1::uuid) AS numbers
        """, tenantID)
    let row = rows[0]
    return [
        try row.decode("tenant", as: String.self), String(try row.decode("keys", as: Int.self)),
        String(try row.decode("audits", as: Int.self)), try row.decodeIfPresent("members", as: String.self) ?? "",
        try row.decode("contacts", as: String.self),
        try row.decode("dnc", as: String.self), try row.decode("campaigns", as: String.self),
        try row.decode("lists", as: String.self), try row.decode("numbers", as: String.self),
    ].joined(separator: "|")
}

@Suite("Tenant isolation and roles")
struct AccessMatrixTests {
    @Test("a user and a key of tenant A get 404 on tenant B's resources, and B is unchanged", arguments: TenantRoute.all)
    func otherTenantIsInvisible(route: TenantRoute) async throws {
        let api = try await APIHarness.make()
        let a = try await api.makeTenant("A")
        let b = try await api.makeTenant("B")
        let ownerOfA = try await api.makeUser(role: .owner, in: a)
        let keyOfA = try await api.makeKey(role: .owner, in: a)
        let idsOfB = try await ResourceIDs.make(in: b, api: api)
        let before = try await fingerprint(of: b.id, api.services.postgres)

        try await api.test { client in
            let session = Credential.cookie(try await api.login(ownerOfA, client: client))
            for credential in [session, Credential.bearer(keyOfA)] {
                let response = try await client.call(
                    route, uri: route.uri(tenant: b.id, ids: idsOfB), as: credential, headers: [.origin: "http://api.test"])
                #expect(response.status == .notFound, "\(route.testDescription) as \(credential) answered \(response.status)")
                #expect(response.errorCode == "not_found")
            }
            // B's resource ids under A's own tenant are just as invisible.
            if route.path.hasSuffix("}") && route.path != "/tenants/{tenant}" {
                let crossed = try await client.call(route, uri: route.uri(tenant: a.id, ids: idsOfB), as: .bearer(keyOfA))
                #expect(crossed.status == .notFound, "\(route.testDescription) with B's id under A answered \(crossed.status)")
            }
        }
        #expect(try await fingerprint(of: b.id, api.services.postgres) == before)
        await api.shutdown()
    }

    @Test("every route refuses the roles below its minimum with 403", arguments: TenantRoute.all.filter { $0.minimum > .viewer })
    func rolesBelowMinimumAreRefused(route: TenantRoute) async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let ids = try await ResourceIDs.make(in: tenant, api: api)
        try await api.test { client in
            for role in Role.allCases where role < route.minimum {
                let key = try await api.makeKey(role: role, in: tenant)
                let response = try await client.call(route, uri: route.uri(tenant: tenant.id, ids: ids), as: .bearer(key))
                #expect(response.status == .forbidden, "\(route.testDescription) as \(role) answered \(response.status)")
            }
        }
        await api.shutdown()
    }

    @Test("GET /tenants lists only the caller's tenants")
    func listingIsScoped() async throws {
        let api = try await APIHarness.make()
        let a = try await api.makeTenant("A")
        _ = try await api.makeTenant("B")
        let key = try await api.makeKey(role: .viewer, in: a)
        try await api.test { client in
            let response = try await client.call(.get, "/tenants", as: .bearer(key))
            let ids = (response.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
            #expect(ids == [a.id])
        }
        await api.shutdown()
    }

    @Test("anonymous calls to tenant routes get 401")
    func anonymousIsUnauthenticated() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        try await api.test { client in
            let response = try await client.call(.get, "/tenants/\(tenant.id)", as: .none)
            #expect(response.status == .unauthorized)
            #expect(response.errorCode == "unauthenticated")
        }
        await api.shutdown()
    }
}
