import Curl
import Foundation
import Logging
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport
import TwilioSandbox

/// A tenant with one consenting contact on a list, a number and a launched
/// campaign on a migrated database, processed against the sandbox.
struct PipelineFixture {
    let postgres: PostgresClient
    let redis: RedisClient
    let queue: SendQueue
    let tenantID: String
    let campaignID: String
    let contactID: String

    /// Noon in Sydney: outside the default quiet hours.
    static let noonInSydney = ISO8601DateFormatter().date(from: "2026-07-01T02:00:00Z")!

    static func make(phone: String = "+61412345678") async throws -> PipelineFixture {
        let postgres = TestDatabases.client(try await TestDatabases.createMigrated(), maxConnections: 6)
        var redisConfiguration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        redisConfiguration.maxConnections = 4
        let redis = RedisClient(configuration: redisConfiguration)
        let queue = SendQueue(redis: redis, namespace: "test:{send-\(UUID().uuidString.prefix(8))}")
        let tenant = try await TenantStore(postgres: postgres).create(name: "P", timezone: "Australia/Sydney", defaultCountry: "AU", actor: .cli)
        let ids = try await postgres.withTransaction { connection in
            let list = try connection.query("INSERT INTO contact_lists (tenant_id, name) VALUES ($1::uuid, 'l') RETURNING id::text", tenant.id)[0]
                .decode("id", as: String.self)
            let number = try connection.query(
                "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, '+61400000009', 'long_code', 10) RETURNING id::text",
                tenant.id)[0].decode("id", as: String.self)
            let contact = try connection.query(
                "INSERT INTO contacts (tenant_id, phone_e164, first_name, consent_at, consent_source) VALUES ($1::uuid, $2, 'Ada', now(), 'test') RETURNING id::text",
                tenant.id, phone)[0].decode("id", as: String.self)
            try connection.query("INSERT INTO contact_list_members (tenant_id, list_id, contact_id) VALUES ($1::uuid, $2::uuid, $3::uuid)", tenant.id, list, contact)
            let campaign = try connection.query(
                "INSERT INTO campaigns (tenant_id, name, body_template) VALUES ($1::uuid, 'c', 'Hi {{first_name}}') RETURNING id::text", tenant.id
            )[0].decode("id", as: String.self)
            try connection.query("INSERT INTO campaign_lists (tenant_id, campaign_id, list_id) VALUES ($1::uuid, $2::uuid, $3::uuid)", tenant.id, campaign, list)
            try connection.query(
                "INSERT INTO campaign_sending_numbers (tenant_id, campaign_id, sending_number_id) VALUES ($1::uuid, $2::uuid, $3::uuid)",
                tenant.id, campaign, number)
            return (campaign, contact)
        }
        _ = try await CampaignLauncher(postgres: postgres, queue: queue).launch(
            tenantID: tenant.id, campaignID: ids.0, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.launch"))
        return PipelineFixture(postgres: postgres, redis: redis, queue: queue, tenantID: tenant.id, campaignID: ids.0, contactID: ids.1)
    }

    func processor(_ sandbox: SandboxHarness, timeout: Duration = .seconds(5)) -> SendProcessor {
        var logger = Logger(label: "processor-test")
        logger.logLevel = .critical
        return SendProcessor(
            configuration: .init(workerID: "test-worker", publicBaseURL: "http://api.test"), postgres: postgres, redis: redis,
            queue: queue, provider: sandbox.twilioClient(timeout: timeout), logger: logger)
    }

    /// The next job, waiting out the number's pace if needed.
    func popOne() async throws -> QueuedJob {
        for _ in 0..<50 {
            switch try await queue.pop(now: Date()) {
            case .job(let job): return job
            case .wait(let milliseconds): try await Task.sleep(for: .milliseconds(min(milliseconds, 100)))
            case .empty: throw ProcessRunner.Failure(description: "queue empty")
            }
        }
        throw ProcessRunner.Failure(description: "the queue kept saying wait")
    }

    func job() async throws -> PostgresRow {
        try await postgres.query(
            "SELECT status, provider_sid, last_gate, error_code, attempts FROM send_jobs WHERE campaign_id = $1::uuid", campaignID)[0]
    }

    func shutdown() async {
        await postgres.shutdown()
        await redis.shutdown()
    }
}

@Suite("Send processor")
struct SendProcessorTests {
    @Test("a job passes every gate, goes to the sandbox with its callback, and is recorded sent; a second pop is not sent again")
    func sendsOnce() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox { sandbox in
            let processor = fixture.processor(sandbox)
            let job = try await fixture.popOne()

            let outcome = try await processor.process(job, now: PipelineFixture.noonInSydney)
            let again = try await processor.process(job, now: PipelineFixture.noonInSydney)

            guard case .sent(let sid) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(again == .skipped)
            let row = try await fixture.job()
            #expect(try row.decode("status", as: String.self) == "sent")
            #expect(try row.decode("provider_sid", as: String.self) == sid)
            let messages = await sandbox.sandbox.store.all()
            #expect(messages.count == 1)
            #expect(messages.first?.body == "Hi Ada")
            let minute = Int(PipelineFixture.noonInSydney.timeIntervalSince1970) / 60
            #expect(try await fixture.redis.command("GET", "rate:tenant:\(fixture.tenantID):\(minute)").int == 1)
        }
        await fixture.shutdown()
    }

    @Test("a number at its warmup cap defers the job to its next day, and the budget reservation taken just before is rolled back")
    func warmupCapDefersAndReleases() async throws {
        let fixture = try await PipelineFixture.make()
        // Day one of a 1-message schedule, and that message already counted today.
        let day = "2026-07-01"
        try await fixture.postgres.query(
            "UPDATE sending_numbers SET warmup_schedule = '[1, 10]', warmup_started_at = $2 WHERE tenant_id = $1::uuid",
            fixture.tenantID, PipelineFixture.noonInSydney)
        try await fixture.postgres.query(
            """
            INSERT INTO sending_number_usage (tenant_id, sending_number_id, day, messages, segments)
            SELECT tenant_id, id, $2::date, 1, 1 FROM sending_numbers WHERE tenant_id = $1::uuid
            """, fixture.tenantID, day)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)

            // Midnight of 2 July in Sydney.
            #expect(outcome == .deferred(.warmup, until: ISO8601DateFormatter().date(from: "2026-07-01T14:00:00Z")!))
            let row = try await fixture.postgres.query(
                "SELECT status, last_gate, attempts, reserved_cents FROM send_jobs WHERE campaign_id = $1::uuid", fixture.campaignID)[0]
            #expect(try row.decode("status", as: String.self) == "deferred")
            #expect(try row.decode("last_gate", as: String.self) == "warmup")
            #expect(try row.decode("attempts", as: Int.self) == 0, "no attempt started")
            #expect(try row.decode("reserved_cents", as: Decimal.self) == 0)
            let spent = try await fixture.postgres.query(
                "SELECT daily_spent_cents, monthly_spent_cents FROM budgets WHERE tenant_id = $1::uuid", fixture.tenantID)[0]
            #expect(try spent.decode("daily_spent_cents", as: Decimal.self) == 0)
            #expect(try spent.decode("monthly_spent_cents", as: Decimal.self) == 0)
            #expect(try await fixture.postgres.query("SELECT messages FROM sending_number_usage")[0].decode(at: 0, as: Int.self) == 1)
            #expect(await sandbox.sandbox.store.all().isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("a paused tenant parks the job and nothing reaches the sandbox")
    func killSwitchParks() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query("UPDATE tenants SET paused_at = now() WHERE id = $1::uuid", fixture.tenantID)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .parked)
            #expect(try await fixture.job().decode("status", as: String.self) == "parked")
            let depth = try await fixture.queue.depth()
            #expect(depth.queued + depth.active + depth.delayed == 0, "parked jobs wait in PostgreSQL until resume")
            #expect(await sandbox.sandbox.store.all().isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("a number added to do-not-contact after launch blocks the job")
    func dncBlocks() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query(
            "INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, '+61412345678', 'x', 'manual')", fixture.tenantID)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .blocked(.doNotContact))
            #expect(await sandbox.sandbox.store.all().isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("a contact whose number is a landline by the time of the send is blocked, with not_sms_capable recorded")
    func landlineBlocks() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query(
            "UPDATE contacts SET number_type = 'fixed_line' WHERE tenant_id = $1::uuid AND id = $2::uuid", fixture.tenantID, fixture.contactID)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)

            #expect(outcome == .blocked(.notSMSCapable))
            #expect(try await fixture.job().decode("last_gate", as: String.self) == "not_sms_capable")
            #expect(await sandbox.sandbox.store.all().isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("a zero daily budget defers the job to the tenant's next midnight")
    func budgetDefers() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query("UPDATE tenants SET daily_budget_cents = 0 WHERE id = $1::uuid", fixture.tenantID)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .deferred(.budget, until: ISO8601DateFormatter().date(from: "2026-07-01T14:00:00Z")!))
            #expect(try await fixture.job().decode("last_gate", as: String.self) == "budget")
        }
        await fixture.shutdown()
    }

    @Test("Twilio's 21610 fails the job with its code and suppresses the number")
    func unsubscribedSuppresses() async throws {
        let fixture = try await PipelineFixture.make(phone: "+15005550004")
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .failed(code: 21610))
            let dnc = try await fixture.postgres.query(
                "SELECT source FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = '+15005550004'", fixture.tenantID)
            #expect(try dnc.first?.decode("source", as: String.self) == "provider")
        }
        await fixture.shutdown()
    }

    @Test("a send that hangs after Twilio accepted it leaves the job unknown, never re-sent")
    func hangIsUnknown() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(hangRate: 1, hangSeconds: 3)) { sandbox in
            let job = try await fixture.popOne()
            let outcome = try await fixture.processor(sandbox, timeout: .milliseconds(300)).process(job, now: PipelineFixture.noonInSydney)
            #expect(outcome == .unknown)
            #expect(try await fixture.job().decode("status", as: String.self) == "unknown")
            // Popped again (e.g. after a lease expiry), it is not claimed again.
            #expect(try await fixture.processor(sandbox).process(job, now: PipelineFixture.noonInSydney) == .skipped)
        }
        await fixture.shutdown()
    }

    @Test("a 429 sends the job back to the queue with backoff")
    func rateLimitedRetries() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(rateLimitedRate: 1)) { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            guard case .retrying(let until) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(until > PipelineFixture.noonInSydney)
            #expect(try await fixture.job().decode("status", as: String.self) == "queued")
            #expect(try await fixture.queue.depth().delayed == 1)
        }
        await fixture.shutdown()
    }
}
