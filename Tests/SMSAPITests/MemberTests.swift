import Foundation
import HummingbirdTesting
import SMSCore
import Testing
import TestSupport

@Suite("Members")
struct MemberTests {
    @Test("an owner invites by email, the person accepts as that email, the owner changes the role and removes them; the last owner cannot leave")
    func manageMembers() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let owner = try await api.makeUser(role: .owner, in: tenant)
        let other = try await api.identity.createUser(email: "colleague-\(UUID().uuidString.prefix(6))@example.com", password: APIHarness.password)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(owner, client: client))
            let invited = try await client.call(.post, "/tenants/\(tenant.id)/members", as: session, json: ["email": other.email, "role": "member"])
            #expect(invited.status == .accepted)
            let token = try #require(invited.object["token"] as? String)
            let pending = try await client.call(.get, "/tenants/\(tenant.id)/invitations", as: session)
            #expect((pending.object["items"] as? [[String: Any]])?.count == 1)
            let before = try await client.call(.get, "/tenants/\(tenant.id)/members", as: session)
            #expect((before.object["items"] as? [[String: Any]])?.count == 1, "nobody is attached before accepting")

            let accepted = try await client.call(.post, "/invitations/\(token)/accept", as: .cookie(try await api.login(other, client: client)))
            #expect(accepted.status == .ok)
            #expect(accepted.object["role"] as? String == "member")

            let promoted = try await client.call(.patch, "/tenants/\(tenant.id)/members/\(other.id)", as: session, json: ["role": "admin"])
            #expect(promoted.object["role"] as? String == "admin")

            let listed = try await client.call(.get, "/tenants/\(tenant.id)/members", as: session)
            #expect((listed.object["items"] as? [[String: Any]])?.count == 2)

            let demoteSelf = try await client.call(.patch, "/tenants/\(tenant.id)/members/\(owner.id)", as: session, json: ["role": "admin"])
            #expect(demoteSelf.status == .conflict)
            let leave = try await client.call(.delete, "/tenants/\(tenant.id)/members/\(owner.id)", as: session)
            #expect(leave.status == .conflict)

            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/members/\(other.id)", as: session).status == .noContent)
        }
        await api.shutdown()
    }

    @Test("an invitation answers the same whether or not the email has an account, and attaches nobody")
    func invitationRevealsNothing() async throws {
        let api = try await APIHarness.make()
        let a = try await api.makeTenant()
        let b = try await api.makeTenant()
        let userOfA = try await api.makeUser(role: .viewer, in: a)
        let ownerOfB = try await api.makeUser(role: .owner, in: b)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(ownerOfB, client: client))
            let known = try await client.call(.post, "/tenants/\(b.id)/members", as: session, json: ["email": userOfA.email, "role": "owner"])
            let unknown = try await client.call(.post, "/tenants/\(b.id)/members", as: session, json: ["email": "nobody-\(UUID().uuidString.prefix(6))@example.com", "role": "owner"])

            #expect(known.status == .accepted && unknown.status == .accepted)
            #expect(Set(known.object.keys) == Set(unknown.object.keys))
            #expect(Set((known.object["invitation"] as? [String: Any])?.keys ?? [:].keys) == Set((unknown.object["invitation"] as? [String: Any])?.keys ?? [:].keys))
            let memberships = try await api.services.postgres.query("SELECT count(*) FROM memberships WHERE tenant_id = $1::uuid", b.id)[0]
            #expect(try memberships.decode(at: 0, as: Int.self) == 1, "only B's owner: A's user was not attached")
        }
        await api.shutdown()
    }

    @Test("an invitation cannot be accepted by another user, twice, after it was revoked, or with an API key")
    func invitationAcceptance() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let owner = try await api.makeUser(role: .owner, in: tenant)
        let invitee = try await api.identity.createUser(email: "invitee-\(UUID().uuidString.prefix(6))@example.com", password: APIHarness.password)
        let stranger = try await api.identity.createUser(email: "stranger-\(UUID().uuidString.prefix(6))@example.com", password: APIHarness.password)
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(owner, client: client))
            let first = try await client.call(.post, "/tenants/\(tenant.id)/members", as: session, json: ["email": invitee.email, "role": "viewer"])
            let token = try #require(first.object["token"] as? String)

            #expect(try await client.call(.post, "/invitations/\(token)/accept", as: .cookie(try await api.login(stranger, client: client))).status == .notFound)
            #expect(try await client.call(.post, "/invitations/\(token)/accept", as: .bearer(key)).status == .forbidden)
            let inviteeSession = Credential.cookie(try await api.login(invitee, client: client))
            #expect(try await client.call(.post, "/invitations/\(token)/accept", as: inviteeSession).status == .ok)
            #expect(try await client.call(.post, "/invitations/\(token)/accept", as: inviteeSession).status == .notFound, "used once")

            let second = try await client.call(.post, "/tenants/\(tenant.id)/members", as: session, json: ["email": stranger.email, "role": "viewer"])
            let revokedToken = try #require(second.object["token"] as? String)
            let invitationID = try #require((second.object["invitation"] as? [String: Any])?["id"] as? String)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/invitations/\(invitationID)", as: session).status == .noContent)
            #expect(
                try await client.call(.post, "/invitations/\(revokedToken)/accept", as: .cookie(try await api.login(stranger, client: client))).status
                    == .notFound)
        }
        await api.shutdown()
    }
}
