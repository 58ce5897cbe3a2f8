import Foundation
import HummingbirdTesting
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport

@Suite("Campaign launch")
struct LaunchTests {
    @Test("launch creates one job per eligible recipient with the rendered body, segments and a sticky number, and queues them")
    func launchCreatesAndQueuesJobs() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let phones = (0..<20).map { String(format: "+614120005%02d", $0) }
        let audience = try await seedAudience(api.services.postgres, tenantID: tenant.id, phones: phones)
        let secondNumber = try await api.services.postgres.query(
            "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, $2, 'long_code', 1) RETURNING id::text",
            tenant.id, "+6140\(Int.random(in: 1_000_000...9_999_999))")[0].decode("id", as: String.self)
        try await api.services.postgres.query(
            "INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, $2, 'test', 'manual')", tenant.id, phones[0])
        try await api.test { client in
            func makeCampaign(_ name: String) async throws -> String {
                let created = try await client.call(
                    .post, "/tenants/\(tenant.id)/campaigns", as: .bearer(key),
                    json: ["name": name, "body_template": "Hi {{first_name}}, sale today 🎉", "list_ids": [audience.listID],
                           "sending_number_ids": [audience.numberID, secondNumber]])
                return try #require(created.object["id"] as? String)
            }
            let first = try await makeCampaign("First")

            let launched = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(first)/launch", as: .bearer(key))

            #expect(launched.status == .ok)
            #expect(launched.object["jobs_created"] as? Int == 19)
            #expect(launched.object["jobs_queued"] as? Int == 19)
            let jobs = try await api.services.postgres.query(
                "SELECT id::text, to_phone, body, encoding, segments, sending_number_id::text AS number, status FROM send_jobs WHERE campaign_id = $1::uuid",
                first)
            #expect(jobs.count == 19)
            #expect(try jobs.allSatisfy { try $0.decode("status", as: String.self) == "queued" })
            let sample = try #require(try jobs.first { try $0.decode("to_phone", as: String.self) == phones[1] })
            #expect(try sample.decode("body", as: String.self) == "Hi Name1, sale today 🎉")
            #expect(try sample.decode("encoding", as: String.self) == "ucs2")
            #expect(try sample.decode("segments", as: Int.self) == 1)
            #expect(try !jobs.contains { try $0.decode("to_phone", as: String.self) == phones[0] })

            // Every job id is in its number's Redis list.
            var queued: Set<String> = []
            for number in [audience.numberID, secondNumber] {
                let items = try await api.services.redis.command("LRANGE", "smscrm:{send}:q:\(number)", 0, -1).array ?? []
                queued.formUnion(items.compactMap { $0.string?.split(separator: ":").first.map(String.init) })
            }
            #expect(queued == Set(try jobs.map { try $0.decode("id", as: String.self) }))

            // A relaunch adds nothing.
            let again = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(first)/launch", as: .bearer(key))
            #expect(again.object["jobs_created"] as? Int == 0)
            #expect(try await api.services.postgres.query("SELECT count(*) AS n FROM send_jobs WHERE campaign_id = $1::uuid", first)[0]
                .decode("n", as: Int.self) == 19)

            // A second campaign on the same numbers gives each contact the same number.
            let second = try await makeCampaign("Second")
            _ = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(second)/launch", as: .bearer(key))
            let differing = try await api.services.postgres.query(
                """
                SELECT count(*) AS n FROM send_jobs a JOIN send_jobs b ON a.contact_id = b.contact_id
                WHERE a.campaign_id = $1::uuid AND b.campaign_id = $2::uuid AND a.sending_number_id <> b.sending_number_id
                """, first, second)[0].decode("n", as: Int.self)
            #expect(differing == 0)
        }
        await api.shutdown()
    }

    @Test("a cancelled campaign cannot launch, and one without numbers is refused with the reason")
    func launchRefusals() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let audience = try await seedAudience(api.services.postgres, tenantID: tenant.id, phones: ["+61412000601"])
        try await api.test { client in
            let bare = try await client.call(
                .post, "/tenants/\(tenant.id)/campaigns", as: .bearer(key), json: ["name": "No numbers", "body_template": "Hi", "list_ids": [audience.listID]])
            let bareID = try #require(bare.object["id"] as? String)
            let refused = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(bareID)/launch", as: .bearer(key))
            #expect(refused.status == .unprocessableContent)
            #expect((refused.object["error"] as? [String: Any])?["details"] as? [String] == ["sending_number_ids"])

            _ = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(bareID)/cancel", as: .bearer(key))
            let cancelled = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(bareID)/launch", as: .bearer(key))
            #expect(cancelled.status == .conflict)
        }
        await api.shutdown()
    }
}
