import Foundation
import HummingbirdTesting
import SMSCore
import Testing
import TestSupport

@Suite("Members")
struct MemberTests {
    @Test("an owner adds a user by email, changes the role and removes them; the last owner cannot leave")
    func manageMembers() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let owner = try await api.makeUser(role: .owner, in: tenant)
        let other = try await api.identity.createUser(email: "colleague-\(UUID().uuidString.prefix(6))@example.com", password: APIHarness.password)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(owner, client: client))
            let added = try await client.call(.post, "/tenants/\(tenant.id)/members", as: session, json: ["email": other.email, "role": "member"])
            #expect(added.status == .created)
            #expect(added.object["role"] as? String == "member")

            let promoted = try await client.call(.patch, "/tenants/\(tenant.id)/members/\(other.id)", as: session, json: ["role": "admin"])
            #expect(promoted.object["role"] as? String == "admin")

            let listed = try await client.call(.get, "/tenants/\(tenant.id)/members", as: session)
            #expect((listed.object["items"] as? [[String: Any]])?.count == 2)

            let demoteSelf = try await client.call(.patch, "/tenants/\(tenant.id)/members/\(owner.id)", as: session, json: ["role": "admin"])
            #expect(demoteSelf.status == .conflict)
            let leave = try await client.call(.delete, "/tenants/\(tenant.id)/members/\(owner.id)", as: session)
            #expect(leave.status == .conflict)

            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/members/\(other.id)", as: session).status == .noContent)
            let unknown = try await client.call(.post, "/tenants/\(tenant.id)/members", as: session, json: ["email": "nobody@example.com", "role": "viewer"])
            #expect(unknown.status == .unprocessableContent)
        }
        await api.shutdown()
    }
}
