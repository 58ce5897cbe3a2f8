import Foundation
import HummingbirdTesting
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport

@Suite("Tenant kill switch")
struct KillSwitchTests {
    @Test("pause then resume shows in GET, in Redis and in the audit log, and both are idempotent")
    func pauseAndResume() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .admin, in: tenant)
        let killSwitch = KillSwitch(redis: api.services.redis)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(user, client: client))

            let paused = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: session, json: ["reason": "carrier complaint"])
            #expect(paused.status == .ok)
            #expect(paused.object["paused"] as? Bool == true)
            #expect(paused.object["in_flight"] as? Int == 0, "nothing was on its way")
            #expect(paused.object["still_in_flight"] as? Int == 0)
            #expect(try await killSwitch.isTenantPaused(tenant.id))
            let shown = try await client.call(.get, "/tenants/\(tenant.id)", as: session)
            #expect(shown.object["paused"] as? Bool == true)
            #expect(shown.object["pause_reason"] as? String == "carrier complaint")

            // A second pause keeps the first one's time; no body is needed (the runbook's curl sends none).
            let again = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: session)
            #expect(again.status == .ok)
            #expect(again.object["paused_at"] as? String == paused.object["paused_at"] as? String)

            let resumed = try await client.call(.post, "/tenants/\(tenant.id)/resume", as: session)
            #expect(resumed.status == .ok)
            #expect(resumed.object["paused"] as? Bool == false)
            #expect(resumed.object["resumed_jobs"] as? Int == 0)
            #expect(resumed.object["in_flight"] == nil)
            #expect(try await killSwitch.isTenantPaused(tenant.id) == false)
            #expect(try await client.call(.post, "/tenants/\(tenant.id)/resume", as: session).status == .ok)

            let audit = try await client.call(.get, "/tenants/\(tenant.id)/audit", as: session)
            let actions = (audit.object["items"] as? [[String: Any]])?.compactMap { $0["action"] as? String } ?? []
            #expect(actions.filter { $0 == "tenant.pause" }.count == 2)
            #expect(actions.filter { $0 == "tenant.resume" }.count == 2)
            let firstPause = (audit.object["items"] as? [[String: Any]])?.last { $0["action"] as? String == "tenant.pause" }
            #expect((firstPause?["details"] as? [String: String])?["reason"] == "carrier complaint")
            #expect(firstPause?["actor_label"] as? String == user.email)
        }
        await api.shutdown()
    }

    @Test("a member may pause but only an admin may resume")
    func resumeNeedsAdmin() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let member = try await api.makeKey(role: .member, in: tenant)
        let viewer = try await api.makeKey(role: .viewer, in: tenant)
        try await api.test { client in
            let viewerPause = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: .bearer(viewer))
            let memberPause = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: .bearer(member))
            let memberResume = try await client.call(.post, "/tenants/\(tenant.id)/resume", as: .bearer(member))
            #expect(viewerPause.status == .forbidden)
            #expect(memberPause.status == .ok)
            #expect(memberResume.status == .forbidden)
        }
        await api.shutdown()
    }
}
