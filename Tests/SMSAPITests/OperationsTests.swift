import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport

/// Inserts one job for `tenant` (a number, a contact, a campaign) with the given status; returns (job id, number id).
func insertJob(_ postgres: PostgresClient, tenant: Tenant, status: String, dead: Bool = false) async throws -> (job: String, number: String) {
    try await postgres.withTransaction { connection in
        let suffix = String(format: "%06d", Int.random(in: 0..<1_000_000))
        let number = try connection.query(
            "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, $2, 'long_code', 1) RETURNING id::text",
            tenant.id, "+6140\(suffix)1")[0].decode(at: 0, as: String.self)
        let contact = try connection.query(
            "INSERT INTO contacts (tenant_id, phone_e164, consent_at) VALUES ($1::uuid, $2, now()) RETURNING id::text", tenant.id, "+6141\(suffix)2"
        )[0].decode(at: 0, as: String.self)
        let campaign = try connection.query(
            "INSERT INTO campaigns (tenant_id, name, body_template, status) VALUES ($1::uuid, 'ops', 'Hi', 'running') RETURNING id::text", tenant.id
        )[0].decode(at: 0, as: String.self)
        let job = try connection.query(
            """
            INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                                   status, attempts, failure_reason, dead_at)
            VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, $6, 'Hi', 'gsm7', 1, $7, $8, $9, CASE WHEN $10 THEN now() END)
            RETURNING id::text
            """, tenant.id, campaign, contact, number, "+6141\(suffix)2", "+6140\(suffix)1", status, dead ? 5 : 0,
            dead ? "gave up after 5 attempts: Twilio answered 503" : nil, dead)[0].decode(at: 0, as: String.self)
        return (job, number)
    }
}

@Suite("Operations: global kill switch, queue status, dead letters, retention")
struct OperationsTests {
    /// A Redis database no other test uses: the global kill switch would park
    /// their jobs, and these tests count the whole database's queue. Tests of
    /// this suite run in parallel, so each takes its own (4 and 5; the end-to-end
    /// tests use 6 to 8).
    static func isolatedRedis(_ database: Int) throws -> String {
        var components = try #require(URLComponents(string: try TestEnvironment.redisURL()))
        components.path = "/\(database)"
        return components.string!
    }

    @Test("a platform admin pauses and resumes everything (audited); resume wakes parked jobs; tenant owners cannot")
    func globalKillSwitch() async throws {
        let harness = try await APIHarness.make(environment: ["REDIS_URL": try Self.isolatedRedis(5)])
        let tenant = try await harness.makeTenant()
        let owner = try await harness.makeKey(role: .owner, in: tenant)
        let admin = try await harness.identity.createUser(email: "root\(UUID().uuidString.prefix(6))@example.com", password: APIHarness.password, isPlatformAdmin: true)
        let (job, number) = try await insertJob(harness.services.postgres, tenant: tenant, status: "parked")
        let redis = harness.services.redis
        try await harness.test { client in
            #expect(try await client.call(.post, "/admin/pause", as: .bearer(owner)).status == .forbidden)
            let session = Credential.cookie(try await harness.login(admin, client: client))
            let paused = try await client.call(.post, "/admin/pause", as: session, json: ["reason": "carrier incident"], headers: [.origin: "http://api.test"])
            #expect(paused.status == .ok)
            #expect(paused.object["paused"] as? Bool == true)
            #expect(paused.object["reason"] as? String == "carrier incident")
            #expect(paused.object["in_flight"] as? Int == 0)
            #expect(try await redis.command("EXISTS", KillSwitch.globalKey).int == 1)

            let resumed = try await client.call(.post, "/admin/resume", as: session, headers: [.origin: "http://api.test"])
            #expect(resumed.status == .ok)
            #expect(resumed.object["paused"] as? Bool == false)
            #expect(resumed.object["resumed_jobs"] as? Int == 1)
            #expect(try await redis.command("EXISTS", KillSwitch.globalKey).int == 0)
            #expect(try await redis.command("LRANGE", "smscrm:{send}:q:\(number)", 0, -1).array?.compactMap(\.string) == ["\(job):1"])

            let queue = try await client.call(.get, "/admin/queue", as: session)
            #expect(queue.object["pending"] as? Int == 1)
            #expect((queue.object["redis"] as? [String: Int])?["queued"] == 1)
        }
        let audit = try await harness.services.postgres.query(
            "SELECT action FROM audit_log WHERE action LIKE 'platform.%' ORDER BY id").map { try $0.decode(at: 0, as: String.self) }
        #expect(audit == ["platform.pause", "platform.resume"])
        try await redis.command("FLUSHDB")
        await harness.shutdown()
    }

    @Test("the tenant queue report counts pending, active, parked and dead jobs and today's outcomes")
    func tenantQueue() async throws {
        let harness = try await APIHarness.make()
        let tenant = try await harness.makeTenant()
        let key = try await harness.makeKey(role: .viewer, in: tenant)
        let postgres = harness.services.postgres
        _ = try await insertJob(postgres, tenant: tenant, status: "queued")
        _ = try await insertJob(postgres, tenant: tenant, status: "parked")
        _ = try await insertJob(postgres, tenant: tenant, status: "sending")
        _ = try await insertJob(postgres, tenant: tenant, status: "failed", dead: true)
        let sent = try await insertJob(postgres, tenant: tenant, status: "sent")
        try await postgres.query("UPDATE send_jobs SET sent_at = now() WHERE id = $1::uuid", sent.job)
        try await harness.test { client in
            let report = try await client.call(.get, "/tenants/\(tenant.id)/queue", as: .bearer(key)).object
            #expect(report["pending"] as? Int == 2)
            #expect(report["parked"] as? Int == 1)
            #expect(report["active"] as? Int == 1)
            #expect(report["dead"] as? Int == 1)
            #expect(report["completed_today"] as? Int == 1)
            #expect(report["failed_today"] as? Int == 1)
            #expect(report["redis"] == nil, "Redis's platform-wide view is for platform admins")
        }
        await harness.shutdown()
    }

    @Test("dead letters are listed with their last error, retried back into the queue, or purged")
    func deadLetters() async throws {
        let harness = try await APIHarness.make(environment: ["REDIS_URL": try Self.isolatedRedis(4)])
        let tenant = try await harness.makeTenant()
        let admin = try await harness.makeKey(role: .admin, in: tenant)
        let viewer = try await harness.makeKey(role: .viewer, in: tenant)
        let postgres = harness.services.postgres
        let redis = harness.services.redis
        let first = try await insertJob(postgres, tenant: tenant, status: "failed", dead: true)
        let second = try await insertJob(postgres, tenant: tenant, status: "failed", dead: true)
        for (job, number) in [first, second] { try await redis.command("LPUSH", "smscrm:{send}:dead", "\(number)|\(job)|1") }
        try await harness.test { client in
            let list = try await client.call(.get, "/tenants/\(tenant.id)/dead-letters", as: .bearer(viewer))
            let items = list.object["items"] as? [[String: Any]] ?? []
            #expect(items.count == 2)
            #expect((items.first?["failure_reason"] as? String)?.contains("503") == true)
            #expect(try await client.call(.post, "/tenants/\(tenant.id)/dead-letters/retry", as: .bearer(viewer)).status == .forbidden)
            let bad = try await client.call(.post, "/tenants/\(tenant.id)/dead-letters/retry", as: .bearer(admin), json: ["job_ids": ["nope"]])
            #expect(bad.status == .unprocessableContent)

            let retried = try await client.call(.post, "/tenants/\(tenant.id)/dead-letters/retry", as: .bearer(admin), json: ["job_ids": [first.job]])
            #expect(retried.object["jobs"] as? Int == 1)
            let row = try await postgres.query("SELECT status, attempts, dead_at IS NULL FROM send_jobs WHERE id = $1::uuid", first.job)[0]
            #expect(try row.decode(at: 0, as: String.self) == "queued")
            #expect(try row.decode(at: 1, as: Int.self) == 0)
            #expect(try await redis.command("LRANGE", "smscrm:{send}:q:\(first.number)", 0, -1).array?.compactMap(\.string) == ["\(first.job):1"])

            // "All" must be said: no body, or a null list, selects nothing and is a 400.
            let implicit = try await client.call(.delete, "/tenants/\(tenant.id)/dead-letters", as: .bearer(admin))
            #expect(implicit.status == .badRequest)
            let null = try await client.call(.delete, "/tenants/\(tenant.id)/dead-letters", as: .bearer(admin), json: ["job_ids": NSNull()])
            #expect(null.status == .badRequest)
            #expect((null.object["error"] as? [String: Any])?["details"] as? [String] == ["job_ids"])
            #expect(try await redis.command("LLEN", "smscrm:{send}:dead").int == 1, "nothing was purged")
            let purged = try await client.call(.delete, "/tenants/\(tenant.id)/dead-letters", as: .bearer(admin), json: ["all": true])
            #expect(purged.object["jobs"] as? Int == 1)
            let status = try await postgres.query("SELECT status, dead_at IS NULL FROM send_jobs WHERE id = $1::uuid", second.job)[0]
            #expect(try status.decode(at: 0, as: String.self) == "failed")
            #expect(try status.decode(at: 1, as: Bool.self))
            #expect(try await redis.command("LLEN", "smscrm:{send}:dead").int == 0)
            let empty = try await client.call(.get, "/tenants/\(tenant.id)/dead-letters", as: .bearer(viewer))
            #expect((empty.object["items"] as? [Any])?.isEmpty == true)
        }
        try await redis.command("FLUSHDB")
        await harness.shutdown()
    }

    @Test("retention purges processed webhook events and audit entries past their age, in batches, and nothing else")
    func retention() async throws {
        let harness = try await APIHarness.make()
        let postgres = harness.services.postgres
        try await postgres.query(
            """
            INSERT INTO webhook_events (event_key, kind, payload, received_at, processed_at)
            SELECT 'old-' || g, 'status', '{}', now() - interval '40 days', now() - interval '40 days' FROM generate_series(1, 25) g
            """)
        try await postgres.query(
            "INSERT INTO webhook_events (event_key, kind, payload, received_at) VALUES ('old-unprocessed', 'status', '{}', now() - interval '40 days')")
        try await postgres.query("INSERT INTO webhook_events (event_key, kind, payload, processed_at) VALUES ('new', 'status', '{}', now())")
        try await postgres.query(
            "INSERT INTO audit_log (actor_type, action, created_at) SELECT 'system', 'old', now() - interval '400 days' FROM generate_series(1, 7)")
        try await postgres.query("INSERT INTO audit_log (actor_type, action) VALUES ('system', 'recent')")
        var retention = Retention(postgres: postgres, webhookDays: 30, auditDays: 365)
        retention.batchSize = 10
        let purged = try await retention.purge()
        #expect(purged.webhookEvents == 25)
        #expect(purged.auditEntries == 7)
        let events = try await postgres.query("SELECT event_key FROM webhook_events ORDER BY event_key").map { try $0.decode(at: 0, as: String.self) }
        #expect(events == ["new", "old-unprocessed"])
        let audits = try await postgres.query("SELECT action FROM audit_log WHERE action IN ('old', 'recent')").map { try $0.decode(at: 0, as: String.self) }
        #expect(audits == ["recent"])
        await harness.shutdown()
    }
}
