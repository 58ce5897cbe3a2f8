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

    @Test("a launch makes no job for a number that cannot receive a text, read from the stored number type")
    func launchLeavesOutNumbersThatCannotTakeText() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let phones = ["+61412000601", "+61298765432", "+611800123456"]
        let audience = try await seedAudience(api.services.postgres, tenantID: tenant.id, phones: phones)
        try await api.services.postgres.withTransaction { connection in
            for (phone, type) in zip(phones, ["mobile", "fixed_line", "toll_free"]) {
                try connection.query("UPDATE contacts SET number_type = $3 WHERE tenant_id = $1::uuid AND phone_e164 = $2", tenant.id, phone, type)
            }
        }
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(tenant.id)/campaigns", as: .bearer(key),
                json: ["name": "Types", "body_template": "Hi", "list_ids": [audience.listID], "sending_number_ids": [audience.numberID]])
            let id = try #require(created.object["id"] as? String)

            let launched = try await client.call(.post, "/tenants/\(tenant.id)/campaigns/\(id)/launch", as: .bearer(key))

            #expect(launched.object["jobs_created"] as? Int == 1)
            let recipients = try await api.services.postgres.query("SELECT to_phone FROM send_jobs WHERE campaign_id = $1::uuid", id)
                .map { try $0.decode("to_phone", as: String.self) }
            #expect(recipients == ["+61412000601"])
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
                .post, "/tenants/\(tenant.id)/campaigns", as: .bearer(key), json: ["name": "No numbers", "body_template": "Hi", "list_ids": [audience.listID], "sending_number_ids": [String]()])
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

    @Test("a launch in several chunks, rendered on every core, gives ids in contact order; deleting the campaign or tenant deletes its jobs")
    func chunkedLaunchAndCascade() async throws {
        let api = try await APIHarness.make()
        let postgres = api.services.postgres
        let tenant = try await api.makeTenant()
        let audience = try await seedAudience(postgres, tenantID: tenant.id, phones: [])
        try await seedContacts(postgres, tenantID: tenant.id, listID: audience.listID, phonePrefix: "+614130", count: 5_000)
        let campaignID = try await seedCampaign(
            postgres, tenantID: tenant.id, listID: audience.listID, numberID: audience.numberID, name: "Chunked", template: "Hi {{first_name}}, sale today")
        let queue = SendQueue(redis: api.services.redis)
        var launcher = CampaignLauncher(postgres: postgres, queue: queue)
        launcher.chunkSize = 2_200  // three chunks, the first two rendered in two parts each on this machine's cores

        let result = try await launcher.launch(
            tenantID: tenant.id, campaignID: campaignID,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.launch", targetType: "campaign", targetID: campaignID))

        #expect(result.jobsCreated == 5_000 && result.jobsQueued == 5_000)
        let jobs = try await postgres.query(
            """
            SELECT j.id::text, j.contact_id::text, j.body, j.encoding, j.segments, c.first_name FROM send_jobs j
            JOIN contacts c ON c.id = j.contact_id WHERE j.campaign_id = $1::uuid ORDER BY j.id
            """, campaignID)
        #expect(jobs.count == 5_000)
        let ids = try jobs.map { try $0.decode("id", as: String.self) }
        #expect(Set(ids).count == 5_000)
        #expect(ids.allSatisfy { $0.dropFirst(14).first == "7" }, "UUIDv7 layout")
        let contactOrder = try jobs.map { try $0.decode("contact_id", as: String.self) }
        #expect(contactOrder == contactOrder.sorted(), "ids grow in contact order")
        for job in jobs {
            let name: String = try job.decode("first_name")
            #expect(try job.decode("body", as: String.self) == "Hi \(name), sale today")
            #expect(try job.decode("encoding", as: String.self) == (name == "Zoë" ? "ucs2" : "gsm7"))
        }
        let listed = try await api.services.redis.command("LRANGE", "smscrm:{send}:q:\(audience.numberID)", 0, -1).array ?? []
        #expect(listed.compactMap { $0.string?.split(separator: ":").first.map(String.init) } == ids, "pushed in contact order")

        // Deleting the campaign deletes its jobs (a trigger, since send_jobs has no
        // foreign key to campaigns); a job cannot move to another campaign.
        await #expect(throws: PostgresError.self) {
            try await postgres.query("UPDATE send_jobs SET campaign_id = gen_random_uuid() WHERE id = $1::uuid", ids[0])
        }
        try await postgres.query("DELETE FROM campaigns WHERE id = $1::uuid", campaignID)
        #expect(try await postgres.query("SELECT count(*) FROM send_jobs WHERE campaign_id = $1::uuid", campaignID)[0].decode(at: 0, as: Int.self) == 0)

        // And so does deleting the tenant, through its campaigns.
        let relaunched = try await seedCampaign(
            postgres, tenantID: tenant.id, listID: audience.listID, numberID: audience.numberID, name: "Again", template: "Hi")
        _ = try await launcher.launch(
            tenantID: tenant.id, campaignID: relaunched,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.launch", targetType: "campaign", targetID: relaunched))
        try await postgres.query("DELETE FROM tenants WHERE id = $1::uuid", tenant.id)
        #expect(try await postgres.query("SELECT count(*) FROM send_jobs WHERE tenant_id = $1::uuid", tenant.id)[0].decode(at: 0, as: Int.self) == 0)
        await api.shutdown()
    }

    @Test("a launch whose insert fails stops its reader, leaves no job and the campaign a draft, and a later launch works")
    func failedLaunchLeavesNothing() async throws {
        let api = try await APIHarness.make()
        let postgres = api.services.postgres
        let tenant = try await api.makeTenant()
        let audience = try await seedAudience(postgres, tenantID: tenant.id, phones: [])
        try await seedContacts(postgres, tenantID: tenant.id, listID: audience.listID, phonePrefix: "+614140", count: 5_000)
        let campaignID = try await seedCampaign(
            postgres, tenantID: tenant.id, listID: audience.listID, numberID: audience.numberID, name: "Fails", template: "Hi {{first_name}}")
        // The third chunk's insert fails, while the reader is still rendering and handing over chunks.
        try await postgres.query(
            """
            CREATE FUNCTION refuse_third_chunk() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF (SELECT count(*) FROM send_jobs WHERE campaign_id = NEW.campaign_id) >= 2000 THEN RAISE EXCEPTION 'refused'; END IF;
                RETURN NEW;
            END $$
            """)
        try await postgres.query(
            "CREATE TRIGGER refuse_third_chunk BEFORE INSERT ON send_jobs FOR EACH ROW EXECUTE FUNCTION refuse_third_chunk()")
        var launcher = CampaignLauncher(postgres: postgres, queue: SendQueue(redis: api.services.redis))
        launcher.chunkSize = 1_000
        let audit = AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.launch", targetType: "campaign", targetID: campaignID)

        await #expect(throws: PostgresError.self) { try await launcher.launch(tenantID: tenant.id, campaignID: campaignID, audit: audit) }

        #expect(try await postgres.query("SELECT count(*) FROM send_jobs WHERE campaign_id = $1::uuid", campaignID)[0].decode(at: 0, as: Int.self) == 0)
        #expect(try await postgres.query("SELECT status FROM campaigns WHERE id = $1::uuid", campaignID)[0].decode(at: 0, as: String.self) == "draft")
        #expect(try await api.services.redis.command("LLEN", "smscrm:{send}:q:\(audience.numberID)").int == 0)
        try await postgres.query("DROP TRIGGER refuse_third_chunk ON send_jobs")
        let result = try await launcher.launch(tenantID: tenant.id, campaignID: campaignID, audit: audit)
        #expect(result.jobsCreated == 5_000 && result.jobsQueued == 5_000)
        await api.shutdown()
    }
}

/// `count` consenting contacts on the list, phones `phonePrefix` + 5 digits; every
/// seventh is named Zoë, so its body needs UCS-2.
func seedContacts(_ postgres: PostgresClient, tenantID: String, listID: String, phonePrefix: String, count: Int) async throws {
    try await postgres.query(
        """
        WITH c AS (
            INSERT INTO contacts (tenant_id, phone_e164, first_name, consent_at, consent_source)
            SELECT $1::uuid, $3 || lpad(g::text, 5, '0'), CASE WHEN g % 7 = 0 THEN 'Zoë' ELSE 'Name' || g END, now(), 'test'
            FROM generate_series(1, $4::int) g RETURNING id)
        INSERT INTO contact_list_members (tenant_id, list_id, contact_id) SELECT $1::uuid, $2::uuid, id FROM c
        """, tenantID, listID, phonePrefix, count)
}

/// A draft campaign on one list and one number.
func seedCampaign(
    _ postgres: PostgresClient, tenantID: String, listID: String, numberID: String, name: String, template: String
) async throws -> String {
    let id = try await postgres.query(
        "INSERT INTO campaigns (tenant_id, name, body_template) VALUES ($1::uuid, $2, $3) RETURNING id::text", tenantID, name, template
    )[0].decode(at: 0, as: String.self)
    try await postgres.query(
        "INSERT INTO campaign_lists (tenant_id, campaign_id, list_id) VALUES ($1::uuid, $2::uuid, $3::uuid)", tenantID, id, listID)
    try await postgres.query(
        "INSERT INTO campaign_sending_numbers (tenant_id, campaign_id, sending_number_id) VALUES ($1::uuid, $2::uuid, $3::uuid)",
        tenantID, id, numberID)
    return id
}
