import Foundation
import Logging
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport
import TwilioSandbox

/// A moment comfortably past every reconcile delay.
private let muchLater = Date().addingTimeInterval(7_200)
/// Midnight in Sydney: inside the default quiet hours.
private let midnightInSydney = ISO8601DateFormatter().date(from: "2026-07-01T14:00:00Z")!

extension PipelineFixture {
    var jobs: SendJobs { SendJobs(postgres: postgres, queue: queue) }

    /// Waits until the sandbox has given its message a final status.
    func waitForSandboxDelivery(_ sandbox: SandboxHarness) async throws {
        for _ in 0..<100 {
            if await sandbox.sandbox.store.all().allSatisfy({ $0.status == "delivered" }) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func campaignRow() async throws -> PostgresRow {
        try await postgres.query("SELECT status, completed_at FROM campaigns WHERE id = $1::uuid", campaignID)[0]
    }
}

@Suite("A send job's life: defects found by the fault run")
struct SendJobLifeTests {
    @Test("a sent job whose final callback never came is looked up after the delay and settled as delivered, with delivered_at")
    func unsettledSentIsLookedUp() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox { sandbox in
            // The callback URL points nowhere, as when the API was down.
            guard case .sent = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            else {
                Issue.record("not sent")
                return
            }
            try await fixture.waitForSandboxDelivery(sandbox)
            #expect(try await fixture.recovery(sandbox).settleUnsettledSent(now: Date()).isEmpty, "too early to ask")

            let settled = try await fixture.recovery(sandbox).settleUnsettledSent(now: muchLater)

            #expect(Array(settled.values) == [.delivered])
            let row = try await fixture.postgres.query(
                "SELECT status, delivered_at IS NOT NULL AS has_delivered_at, status_checked_at IS NOT NULL AS checked FROM send_jobs WHERE campaign_id = $1::uuid",
                fixture.campaignID)[0]
            #expect(try row.decode("status", as: String.self) == "delivered")
            #expect(try row.decode("has_delivered_at", as: Bool.self))
            #expect(try await fixture.recovery(sandbox).settleUnsettledSent(now: muchLater).isEmpty, "a settled job is not asked about again")
        }
        await fixture.shutdown()
    }

    @Test("an unknown send that the lookup finds delivered gets delivered_at, so it counts in the five-minute figure")
    func lookupSetsDeliveredAt() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(hangRate: 1, hangSeconds: 1)) { sandbox in
            #expect(try await fixture.processor(sandbox, timeout: .milliseconds(300)).process(
                try await fixture.popOne(), now: PipelineFixture.noonInSydney) == .unknown)
            try await Task.sleep(for: .seconds(1))
            try await fixture.waitForSandboxDelivery(sandbox)

            let settled = try await fixture.recovery(sandbox).settleUnknown(now: muchLater)

            #expect(settled.values.first == .found(sid: await sandbox.sandbox.store.all()[0].sid, status: "delivered"))
            let row = try await fixture.postgres.query(
                "SELECT delivered_at IS NOT NULL AND sent_at IS NOT NULL FROM send_jobs WHERE campaign_id = $1::uuid", fixture.campaignID)[0]
            #expect(try row.decode(at: 0, as: Bool.self))
        }
        await fixture.shutdown()
    }

    @Test("after Redis lost its data, every pending job is back: due jobs in their list in order, waiting jobs in delayed")
    func redisLossRestoresEveryPendingJob() async throws {
        let fixture = try await PipelineFixture.make()
        // 30 more jobs on the campaign's number, created after the fixture's, and one deferred to tomorrow.
        let number: String = try await fixture.postgres.query(
            "SELECT sending_number_id::text FROM send_jobs WHERE campaign_id = $1::uuid", fixture.campaignID)[0].decode(at: 0)
        try await fixture.postgres.query(
            """
            INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                                   created_at, status, next_attempt_at)
            SELECT $1::uuid, $2::uuid, gen_random_uuid(), $3::uuid, '+6141200' || lpad(i::text, 4, '0'), '+61400000009', 'hi', 'gsm7', 1,
                   now() + i * interval '1 ms', CASE WHEN i = 31 THEN 'deferred' ELSE 'queued' END,
                   CASE WHEN i = 31 THEN now() + interval '1 day' END
            FROM generate_series(1, 31) AS i
            """, fixture.tenantID, fixture.campaignID, number)
        let recovery = fixture.recovery(nil)
        #expect(try await recovery.restoreAfterRedisLoss() == 32, "a queue never restored is restored once")
        #expect(try await recovery.restoreAfterRedisLoss() == nil, "and then left alone")
        // Redis loses everything of the queue.
        let keys = try await fixture.redis.command("KEYS", fixture.queue.namespace + "*").array?.compactMap(\.string) ?? []
        _ = try await fixture.redis.pipeline(keys.map { RedisCommand("DEL", $0) })

        let restored = try await recovery.restoreAfterRedisLoss()

        #expect(restored == 32)
        let depth = try await fixture.queue.depth()
        #expect(depth.queued == 31)
        #expect(depth.delayed == 1)
        let expected = try await fixture.postgres.query(
            "SELECT id::text FROM send_jobs WHERE campaign_id = $1::uuid AND status = 'queued' ORDER BY created_at, id", fixture.campaignID
        ).map { try $0.decode(at: 0, as: String.self) }
        var popped: [String] = []
        for _ in 0..<31 { popped.append(try await fixture.popOne().jobID) }
        #expect(popped == expected)
        await fixture.shutdown()
    }

    @Test("a park that finds the pause already lifted puts the job straight back at the front of its list")
    func parkAfterResumeRequeues() async throws {
        let fixture = try await PipelineFixture.make()
        let job = try await fixture.popOne()
        let claimed = try #require(try await fixture.jobs.claim([job], workerID: "test").first)
        // The worker saw a pause that a resume has lifted since: nothing pauses the tenant now.

        let parked = try await fixture.jobs.park([claimed])

        #expect(parked == 0)
        #expect(try await fixture.job().decode("status", as: String.self) == "queued")
        #expect(try await fixture.popOne().jobID == job.jobID)
        await fixture.shutdown()
    }

    @Test("a park while the tenant is paused parks the job and takes it out of Redis")
    func parkWhilePaused() async throws {
        let fixture = try await PipelineFixture.make()
        let job = try await fixture.popOne()
        let claimed = try #require(try await fixture.jobs.claim([job], workerID: "test").first)
        try await fixture.postgres.query("UPDATE tenants SET paused_at = now() WHERE id = $1::uuid", fixture.tenantID)

        #expect(try await fixture.jobs.park([claimed]) == 1)

        #expect(try await fixture.job().decode("status", as: String.self) == "parked")
        let depth = try await fixture.queue.depth()
        #expect(depth.queued + depth.active + depth.delayed == 0)
        await fixture.shutdown()
    }

    @Test("cancelling a campaign takes its deferred jobs out of Redis's delayed set")
    func cancelLeavesDelayedSet() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox { sandbox in
            guard case .deferred(.quietHours, _) = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: midnightInSydney)
            else {
                Issue.record("not deferred by quiet hours")
                return
            }
            #expect(try await fixture.queue.depth().delayed == 1)
            let (tenantID, campaignID) = (fixture.tenantID, fixture.campaignID)

            let cancelled = try await fixture.jobs.transaction { tx in
                try tx.cancelPending(.campaign(tenantID: tenantID, campaignID: campaignID), reason: "campaign cancelled")
            }

            #expect(cancelled == 1)
            #expect(try await fixture.queue.depth().delayed == 0)
        }
        await fixture.shutdown()
    }

    @Test("a running campaign completes once none of its jobs is pending or in flight, with completed_at and an audit entry")
    func campaignCompletes() async throws {
        let fixture = try await PipelineFixture.make()
        let campaigns = CampaignStore(postgres: fixture.postgres)
        #expect(try await campaigns.completeFinished().isEmpty, "its job is still queued")
        try await withSandbox { sandbox in
            _ = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
        }

        let completed = try await campaigns.completeFinished()

        #expect(completed == [fixture.campaignID])
        let row = try await fixture.campaignRow()
        #expect(try row.decode("status", as: String.self) == "completed")
        #expect(!row.isNull("completed_at"))
        let audit = try await fixture.postgres.query(
            "SELECT details->>'sent' FROM audit_log WHERE action = 'campaign.complete' AND target_id = $1", fixture.campaignID)
        #expect(try audit.map { try $0.decode(at: 0, as: String.self) } == ["1"])
        let page = try await campaigns.list(tenantID: fixture.tenantID, status: .completed, cursor: nil, limit: 10)
        #expect(page.items.map(\.id) == [fixture.campaignID])
        await fixture.shutdown()
    }

    @Test("deferred jobs keep a campaign running")
    func deferredKeepsCampaignRunning() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox { sandbox in
            _ = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: midnightInSydney)
        }

        #expect(try await CampaignStore(postgres: fixture.postgres).completeFinished().isEmpty)
        #expect(try await fixture.campaignRow().decode("status", as: String.self) == "running")
        await fixture.shutdown()
    }

    @Test("a refused send whose code suppresses the number puts it on do-not-contact, cancels the contact's pending jobs and audits")
    func rejectedSendSuppresses() async throws {
        // Twilio's magic test number that answers 21211 (invalid 'To'); the contact lives in Sydney's hours.
        let phone = "+15005550001"
        let fixture = try await PipelineFixture.make(phone: phone)
        try await fixture.postgres.query("UPDATE contacts SET timezone = 'Australia/Sydney' WHERE id = $1::uuid", fixture.contactID)
        // A second campaign's job for the same contact, still pending.
        let number: String = try await fixture.postgres.query(
            "SELECT sending_number_id::text FROM send_jobs WHERE campaign_id = $1::uuid", fixture.campaignID)[0].decode(at: 0)
        let other: String = try await fixture.postgres.query(
            "INSERT INTO campaigns (tenant_id, name, body_template, status) VALUES ($1::uuid, 'c2', 'x', 'running') RETURNING id::text",
            fixture.tenantID)[0].decode(at: 0)
        try await fixture.postgres.query(
            """
            INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments)
            VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, '+61400000009', 'x', 'gsm7', 1)
            """, fixture.tenantID, other, fixture.contactID, number, phone)
        try await withSandbox { sandbox in
            let outcome = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .failed(code: 21211))
        }

        let dnc = try await fixture.postgres.query(
            "SELECT reason FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2", fixture.tenantID, phone)
        #expect(try dnc.map { try $0.decode(at: 0, as: String.self) } == ["twilio_21211"])
        let pending = try await fixture.postgres.query("SELECT status FROM send_jobs WHERE campaign_id = $1::uuid", other)
        #expect(try pending.map { try $0.decode(at: 0, as: String.self) } == ["cancelled"])
        let audit = try await fixture.postgres.query(
            "SELECT details->>'cancelled_jobs' FROM audit_log WHERE tenant_id = $1::uuid AND action = 'dnc.add'", fixture.tenantID)
        #expect(try audit.map { try $0.decode(at: 0, as: String.self) } == ["1"])
        let contact = try await fixture.postgres.query("SELECT opted_out_at IS NULL FROM contacts WHERE id = $1::uuid", fixture.contactID)
        #expect(try contact[0].decode(at: 0, as: Bool.self), "an invalid number is not an opt-out")
        await fixture.shutdown()
    }

    @Test("every transition moves exactly the statuses its table allows, on PostgreSQL")
    func transitionsOnPostgres() async throws {
        let fixture = try await PipelineFixture.make()
        let number: String = try await fixture.postgres.query(
            "SELECT sending_number_id::text FROM send_jobs WHERE campaign_id = $1::uuid", fixture.campaignID)[0].decode(at: 0)
        for transition in JobTransition.allCases where transition != .admit {
            // One job in every status, each claimed by the same token and dead, so only the status decides.
            let ids: [JobStatus: String] = try await fixture.postgres.withTransaction { connection in
                var ids: [JobStatus: String] = [:]
                for status in JobStatus.allCases {
                    ids[status] = try connection.query(
                        """
                        INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding,
                                               segments, status, claimed_by, dead_at, provider_sid)
                        VALUES ($1::uuid, $2::uuid, gen_random_uuid(), $3::uuid, '+61412999999', '+61400000009', 'x', 'gsm7', 1, $4, 'token',
                                now(), CASE WHEN $4 IN ('sent', 'delivered', 'undelivered') THEN 'SM' || md5(random()::text) END)
                        RETURNING id::text
                        """, fixture.tenantID, fixture.campaignID, number, status.rawValue)[0].decode(at: 0)
                }
                return ids
            }
            if transition == .park {
                try await fixture.postgres.query("UPDATE tenants SET paused_at = now() WHERE id = $1::uuid", fixture.tenantID)
            }
            let claimed = ids.map { status, id in
                ClaimedJob(
                    job: QueuedJob(numberID: number, jobID: id, segments: 1), tenantID: fixture.tenantID, campaignID: fixture.campaignID,
                    token: "token", toPhone: "+61412999999", fromPhone: "+61400000009", body: "x", segments: 1, estimatedCents: 0,
                    attempts: 0, maxAttempts: 5)
            }
            try await apply(transition, to: claimed, fixture: fixture)
            try await fixture.postgres.query("UPDATE tenants SET paused_at = NULL WHERE id = $1::uuid", fixture.tenantID)

            let after = Dictionary(
                uniqueKeysWithValues: try await fixture.postgres.query(
                    "SELECT id::text, status FROM send_jobs WHERE id = ANY($1::uuid[])", Array(ids.values)
                ).map { (try $0.decode(at: 0, as: String.self), try $0.decode(at: 1, as: String.self)) })
            for (status, id) in ids {
                let expected = transition.apply(to: status) ?? status
                #expect(after[id] == expected.rawValue, "\(transition) from \(status)")
            }
            try await fixture.postgres.query("DELETE FROM send_jobs WHERE id = ANY($1::uuid[])", Array(ids.values))
        }
        await fixture.shutdown()
    }

    private func apply(_ transition: JobTransition, to jobs: [ClaimedJob], fixture: PipelineFixture) async throws {
        let sendJobs = fixture.jobs
        let policy = ProviderErrorPolicy()
        func results(_ kind: AttemptResult.Kind) -> [AttemptResult] {
            jobs.map { AttemptResult(job: $0.job, tenantID: $0.tenantID, toPhone: $0.toPhone, kind: kind) }
        }
        switch transition {
        case .admit: break
        case .claim: _ = try await sendJobs.claim(jobs.map(\.job), workerID: "test")
        case .park: try await sendJobs.park(jobs)
        case .postpone: try await sendJobs.postpone(jobs, gate: .quietHours, until: muchLater)
        case .block: try await sendJobs.finish(jobs, as: .block, gate: .consent, reason: "test")
        case .drop: try await sendJobs.finish(jobs, as: .drop, gate: nil, reason: "test")
        case .release: try await sendJobs.release(jobs)
        case .accept:
            for job in jobs {
                try await sendJobs.record(
                    [AttemptResult(job: job.job, tenantID: job.tenantID, toPhone: job.toPhone, kind: .accepted(sid: "SM" + UUID().uuidString, providerStatus: "queued"))],
                    suppressionPolicy: policy)
            }
        case .retry: try await sendJobs.record(results(.retry(until: muchLater, reason: "test")), suppressionPolicy: policy)
        case .giveUp: try await sendJobs.record(results(.giveUp(reason: "test")), suppressionPolicy: policy)
        case .reject: try await sendJobs.record(results(.rejected(code: 30007, reason: "test")), suppressionPolicy: policy)
        case .lose: try await sendJobs.record(results(.lost(reason: "test")), suppressionPolicy: policy)
        case .cancel:
            let (tenantID, campaignID) = (fixture.tenantID, fixture.campaignID)
            _ = try await sendJobs.transaction { tx in try tx.cancelPending(.campaign(tenantID: tenantID, campaignID: campaignID), reason: "test") }
        case .resend:
            for job in jobs {
                _ = try await sendJobs.resend(
                    SendJobs.Held(
                        job: job.job, tenantID: job.tenantID, attempted: true, toPhone: job.toPhone, fromPhone: job.fromPhone, body: job.body,
                        providerSID: nil, lastAttemptAt: nil))
            }
        case .revive:
            _ = try await sendJobs.revive(
                tenantID: fixture.tenantID, jobIDs: jobs.map(\.job.jobID), audit: AuditEntry(tenantID: fixture.tenantID, actor: .cli, action: "test"))
        }
    }
}
