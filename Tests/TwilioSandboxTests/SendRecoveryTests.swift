import Foundation
import Logging
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport
import TwilioSandbox

extension PipelineFixture {
    func recovery(_ sandbox: SandboxHarness?, reconcileAfter: Duration = .seconds(20)) -> SendRecovery {
        var logger = Logger(label: "recovery-test")
        logger.logLevel = .critical
        return SendRecovery(
            configuration: .init(workerID: "test-recovery", reconcileAfter: reconcileAfter), postgres: postgres, queue: queue,
            provider: sandbox?.twilioClient(), logger: logger)
    }

    func spent() async throws -> Decimal {
        try await postgres.query("SELECT daily_spent_cents FROM budgets WHERE tenant_id = $1::uuid", tenantID)[0].decode(at: 0)
    }

    func jobID() async throws -> String {
        try await postgres.query("SELECT id::text FROM send_jobs WHERE campaign_id = $1::uuid", campaignID)[0].decode(at: 0)
    }
}

/// A moment comfortably past every reconcile and lost-job delay.
private let later = Date().addingTimeInterval(3_600)

@Suite("Send recovery")
struct SendRecoveryTests {
    @Test("an ambiguous send that Twilio did create is settled by lookup with its sid, and never sent again")
    func unknownFoundAtTwilio() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(hangRate: 1, hangSeconds: 2)) { sandbox in
            let outcome = try await fixture.processor(sandbox, timeout: .milliseconds(300)).process(
                try await fixture.popOne(), now: PipelineFixture.noonInSydney)
            #expect(outcome == .unknown)
            let reserved = try await fixture.spent()
            #expect(reserved > 0)

            // Not yet: the callback gets its chance first.
            #expect(try await fixture.recovery(sandbox).settleUnknown(now: Date()).isEmpty)
            let settled = try await fixture.recovery(sandbox).settleUnknown(now: later)

            let stored = await sandbox.sandbox.store.all()
            #expect(stored.count == 1)
            #expect(settled.values.first == .found(sid: stored[0].sid, status: "sent") || settled.values.first == .found(sid: stored[0].sid, status: "delivered"))
            let row = try await fixture.job()
            #expect(try row.decode("provider_sid", as: String.self) == stored[0].sid)
            #expect(["sent", "delivered"].contains(try row.decode("status", as: String.self)))
            #expect(try await fixture.spent() == reserved, "a billed message keeps its reservation")
            #expect(try await fixture.queue.depth().queued == 0)
            // Settled jobs are not looked at again.
            #expect(try await fixture.recovery(sandbox).settleUnknown(now: later).isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("an ambiguous send Twilio has no record of is released, queued again and then sent exactly once")
    func unknownMissingIsResent() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(serverErrorRate: 1)) { sandbox in
            let processor = fixture.processor(sandbox)
            #expect(try await processor.process(try await fixture.popOne(), now: PipelineFixture.noonInSydney) == .unknown)
            #expect(try await fixture.spent() > 0)

            let settled = try await fixture.recovery(sandbox).settleUnknown(now: later)
            #expect(Array(settled.values) == [.resent])
            #expect(try await fixture.job().decode("status", as: String.self) == "queued")
            #expect(try await fixture.spent() == 0, "the reservation is given back until the next attempt")

            sandbox.sandbox.faults.set(SandboxFaults())
            guard case .sent = try await processor.process(try await fixture.popOne(), now: PipelineFixture.noonInSydney) else {
                Issue.record("the resent job was not sent")
                return
            }
            #expect(await sandbox.sandbox.store.all().count == 1)
        }
        await fixture.shutdown()
    }

    @Test("a job a dead worker left in sending goes back to the queue if its request never started, else becomes unknown")
    func stuckSending() async throws {
        let fixture = try await PipelineFixture.make()
        let job = try await fixture.popOne()
        // A worker claimed it and reserved 5 cents, then died before the request.
        try await fixture.postgres.query(
            """
            UPDATE budgets SET daily_spent_cents = 5, daily_period = (now() AT TIME ZONE 'Australia/Sydney')::date,
                monthly_spent_cents = 5, monthly_period = date_trunc('month', now() AT TIME ZONE 'Australia/Sydney')::date
            WHERE tenant_id = $1::uuid
            """, fixture.tenantID)
        try await fixture.postgres.query(
            """
            UPDATE send_jobs SET status = 'sending', claimed_at = now() - interval '1 hour', claimed_by = 'dead/1', reserved_cents = 5,
                reserved_daily_period = (now() AT TIME ZONE 'Australia/Sydney')::date,
                reserved_monthly_period = date_trunc('month', now() AT TIME ZONE 'Australia/Sydney')::date
            WHERE id = $1::uuid
            """, job.jobID)
        let recovery = fixture.recovery(nil)
        #expect(try await recovery.recoverStuck(now: Date().addingTimeInterval(-7_200)) == (0, 0), "too recent to touch")

        let first = try await recovery.recoverStuck(now: later)
        #expect(first == (1, 0))
        #expect(try await fixture.job().decode("status", as: String.self) == "queued")
        #expect(try await fixture.spent() == 0)
        #expect(try await fixture.popOne().jobID == job.jobID)

        // This time the request had started when the worker died.
        try await fixture.postgres.query(
            """
            UPDATE send_jobs SET status = 'sending', claimed_at = now() - interval '1 hour', claimed_by = 'dead/2',
                last_attempt_at = now() - interval '59 minutes'
            WHERE id = $1::uuid
            """, job.jobID)
        #expect(try await recovery.recoverStuck(now: later) == (0, 1))
        #expect(try await fixture.job().decode("status", as: String.self) == "unknown")
        await fixture.shutdown()
    }

    @Test("the sweep re-pushes pending jobs Redis lost, and leaves held ones alone")
    func lostJobsArePushedAgain() async throws {
        let fixture = try await PipelineFixture.make()
        let recovery = fixture.recovery(nil)
        // Still in its list: nothing to do.
        #expect(try await recovery.sweepLost(now: later) == 0)
        let job = try await fixture.popOne()
        // Leased (active): not lost either.
        #expect(try await recovery.sweepLost(now: later) == 0)

        // Redis forgets it (a restart without persistence).
        let keys = try await fixture.redis.command("KEYS", fixture.queue.namespace + "*").array?.compactMap(\.string) ?? []
        for key in keys { try await fixture.redis.command("DEL", key) }
        #expect(try await recovery.sweepLost(now: Date()) == 0, "a job just touched is given time")
        #expect(try await recovery.sweepLost(now: later) == 1)
        #expect(try await fixture.popOne() == job)
        await fixture.shutdown()
    }

    @Test("resume puts parked jobs back in the queue at once; a still-paused tenant's stay parked")
    func wakeParked() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query("UPDATE tenants SET paused_at = now() WHERE id = $1::uuid", fixture.tenantID)
        try await withSandbox { sandbox in
            let job = try await fixture.popOne()
            #expect(try await fixture.processor(sandbox).process(job, now: PipelineFixture.noonInSydney) == .parked)
            let depth = try await fixture.queue.depth()
            #expect(depth.queued + depth.active + depth.delayed == 0, "a parked job costs Redis nothing")

            let recovery = fixture.recovery(sandbox)
            #expect(try await recovery.wakeParked(tenantID: fixture.tenantID) == 0, "still paused")
            try await fixture.postgres.query("UPDATE tenants SET paused_at = NULL WHERE id = $1::uuid", fixture.tenantID)
            #expect(try await recovery.wakeParked(tenantID: fixture.tenantID) == 1)

            guard case .sent = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: PipelineFixture.noonInSydney) else {
                Issue.record("the woken job was not sent")
                return
            }
            #expect(await sandbox.sandbox.store.all().count == 1)
        }
        await fixture.shutdown()
    }

    @Test("raising the cap makes budget-deferred jobs due now rather than at the next period")
    func budgetRaiseWakes() async throws {
        let fixture = try await PipelineFixture.make()
        try await fixture.postgres.query("UPDATE tenants SET daily_budget_cents = 0 WHERE id = $1::uuid", fixture.tenantID)
        // Noon in Sydney, a year ahead: the deferral is to a real future midnight.
        let noonNextYear = ISO8601DateFormatter().date(from: "2027-07-01T02:00:00Z")!
        try await withSandbox { sandbox in
            guard case .deferred(.budget, _) = try await fixture.processor(sandbox).process(try await fixture.popOne(), now: noonNextYear) else {
                Issue.record("expected a budget deferral")
                return
            }
            #expect(try await fixture.queue.promoteDue(now: Date()) == 0)
            try await fixture.postgres.query("UPDATE tenants SET daily_budget_cents = 1000 WHERE id = $1::uuid", fixture.tenantID)
            #expect(try await fixture.recovery(sandbox).wakeBudgetDeferred(tenantID: fixture.tenantID) == 1)
            #expect(try await fixture.queue.promoteDue(now: Date()) == 1)
            #expect(try await fixture.popOne().jobID == (try await fixture.jobID()))
        }
        await fixture.shutdown()
    }

    @Test("429s are retried with growing, jittered backoff, and the job is not handed out before it is due")
    func backoffGrows() async throws {
        let fixture = try await PipelineFixture.make()
        try await withSandbox(faults: SandboxFaults(rateLimitedRate: 1)) { sandbox in
            let processor = fixture.processor(sandbox)  // base 2 s, doubling
            var now = PipelineFixture.noonInSydney
            var delays: [TimeInterval] = []
            for _ in 0..<3 {
                guard case .retrying(let until) = try await processor.process(try await fixture.popOne(), now: now) else {
                    Issue.record("expected a retry")
                    return
                }
                delays.append(until.timeIntervalSince(now))
                #expect(try await fixture.queue.promoteDue(now: until.addingTimeInterval(-0.5)) == 0, "not before its time")
                #expect(try await fixture.queue.promoteDue(now: until) == 1)
                now = until
            }
            #expect((1.0...2.0).contains(delays[0]), "\(delays)")
            #expect((2.0...4.0).contains(delays[1]), "\(delays)")
            #expect((4.0...8.0).contains(delays[2]), "\(delays)")
            #expect(try await fixture.job().decode("attempts", as: Int.self) == 3)
            #expect(await sandbox.sandbox.store.all().isEmpty)
        }
        await fixture.shutdown()
    }

    @Test("a scheduled campaign launches once its time comes, once, even with two workers at it")
    func scheduledLaunch() async throws {
        let fixture = try await PipelineFixture.make()
        let scheduled = try await fixture.postgres.query(
            """
            INSERT INTO campaigns (tenant_id, name, body_template, status, scheduled_at)
            VALUES ($1::uuid, 's', 'Hello', 'scheduled', now() + interval '10 minutes') RETURNING id::text
            """, fixture.tenantID)[0].decode(at: 0, as: String.self)
        try await fixture.postgres.query(
            """
            INSERT INTO campaign_lists (tenant_id, campaign_id, list_id) SELECT tenant_id, $2::uuid, list_id FROM campaign_lists WHERE campaign_id = $1::uuid
            """, fixture.campaignID, scheduled)
        try await fixture.postgres.query(
            """
            INSERT INTO campaign_sending_numbers (tenant_id, campaign_id, sending_number_id)
            SELECT tenant_id, $2::uuid, sending_number_id FROM campaign_sending_numbers WHERE campaign_id = $1::uuid
            """, fixture.campaignID, scheduled)
        let launcher = CampaignLauncher(postgres: fixture.postgres, queue: fixture.queue)
        let logger = Logger(label: "scheduled-test")

        #expect(try await launcher.launchDue(now: Date(), logger: logger).isEmpty, "not due yet")
        let due = Date().addingTimeInterval(11 * 60)
        async let first = launcher.launchDue(now: due, logger: logger)
        async let second = launcher.launchDue(now: due, logger: logger)
        let results = try await [first, second]

        #expect(results.flatMap(\.values).map(\.jobsCreated).reduce(0, +) == 1)
        let jobs = try await fixture.postgres.query("SELECT count(*) FROM send_jobs WHERE campaign_id = $1::uuid", scheduled)[0]
        #expect(try jobs.decode(at: 0, as: Int.self) == 1)
        let status = try await fixture.postgres.query("SELECT status FROM campaigns WHERE id = $1::uuid", scheduled)[0]
        #expect(try status.decode(at: 0, as: String.self) == "running")
        let audit = try await fixture.postgres.query(
            "SELECT actor_type FROM audit_log WHERE action = 'campaign.launch' AND target_id = $1", scheduled)
        #expect(try audit.map { try $0.decode(at: 0, as: String.self) } == ["system"])
        await fixture.shutdown()
    }

    @Test("a pause waits for the sends already past the kill switch, and no send can start once the flag is set")
    func inFlightDrain() async throws {
        var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        configuration.maxConnections = 2
        let redis = RedisClient(configuration: configuration)
        let killSwitch = KillSwitch(redis: redis)
        let tenant = UUID().uuidString
        let worker = "test-\(UUID().uuidString)"
        try await killSwitch.heartbeat(workerID: worker)
        // A live worker renews its heartbeat (WorkerHeartbeat, six times per TTL). A single beat
        // expired mid-test on a loaded 2-core machine (load ≈ 8: 3.9 s between it and the drain's
        // first read), and the drain rightly counted the send as abandoned.
        let beating = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(500))
                try? await killSwitch.heartbeat(workerID: worker)
            }
        }
        defer { beating.cancel() }
        let flight = KillSwitch.Flight(tenantID: tenant, campaignID: UUID().uuidString, jobID: UUID().uuidString, workerID: worker)

        #expect(try await killSwitch.beginSend(flight, staleAfter: .seconds(30)))
        try await killSwitch.setTenant(tenant, paused: true)
        let other = KillSwitch.Flight(tenantID: tenant, campaignID: flight.campaignID, jobID: UUID().uuidString, workerID: worker)
        #expect(try await !killSwitch.beginSend(other, staleAfter: .seconds(30)), "the flag stops new sends")

        let started = ContinuousClock.now
        async let drained = killSwitch.waitForInFlight(tenantID: tenant, campaignID: nil, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        try await killSwitch.endSend(flight)
        #expect(try await drained == KillSwitch.Drain(inFlight: 1, stillInFlight: 0, abandoned: 0))
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        // Another tenant's sends are not waited for; a timeout reports what is left.
        try await killSwitch.heartbeat(workerID: worker)
        let elsewhere = KillSwitch.Flight(tenantID: UUID().uuidString, campaignID: UUID().uuidString, jobID: UUID().uuidString, workerID: worker)
        #expect(try await killSwitch.beginSend(elsewhere, staleAfter: .seconds(30)))
        #expect(try await killSwitch.waitForInFlight(tenantID: tenant, campaignID: nil, timeout: .milliseconds(50)).stillInFlight == 0)
        #expect(try await killSwitch.waitForInFlight(tenantID: nil, campaignID: nil, timeout: .milliseconds(50)).stillInFlight >= 1)
        try await killSwitch.endSend(elsewhere)
        try await killSwitch.setTenant(tenant, paused: false)
        beating.cancel()
        await redis.shutdown()
    }

    @Test("a pause does not wait for the sends of a worker whose heartbeat is gone, and says it ignored them")
    func deadWorkerFlightsDoNotHoldAPause() async throws {
        var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        configuration.maxConnections = 2
        let redis = RedisClient(configuration: configuration)
        let killSwitch = KillSwitch(redis: redis)
        let tenant = UUID().uuidString
        let dead = "test-dead-\(UUID().uuidString)"
        let flight = KillSwitch.Flight(tenantID: tenant, campaignID: UUID().uuidString, jobID: UUID().uuidString, workerID: dead)
        try await killSwitch.heartbeat(workerID: dead)
        #expect(try await killSwitch.beginSend(flight, staleAfter: .seconds(30)))
        try await killSwitch.stopHeartbeat(workerID: dead)  // as if SIGKILLed: the heartbeat is gone, the entry stays

        let started = ContinuousClock.now
        let drain = try await killSwitch.waitForInFlight(tenantID: tenant, campaignID: nil, timeout: .seconds(20))

        #expect(drain == KillSwitch.Drain(inFlight: 0, stillInFlight: 0, abandoned: 1))
        #expect(ContinuousClock.now - started < .seconds(1))
        #expect(try await redis.command("ZSCORE", KillSwitch.inFlightKey, "\(tenant.lowercased())|\(flight.campaignID)|\(flight.jobID)|\(dead)").isNull)
        await redis.shutdown()
    }
}
