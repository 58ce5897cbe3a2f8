import Curl
import Foundation
import Logging
import Postgres
import Redis
import SMSCore
import Testing
import TestSupport
import TwilioSandbox

/// The real `smscrm-worker` executables against PostgreSQL, Redis and the sandbox.
@Suite("Worker pipeline", .serialized)
struct WorkerPipelineTests {
    static let accountSID = "AC00000000000000000000000000000000"
    static let authToken = "e2e-token"

    /// Runs a sandbox in this process for the duration of `body`; passes its base URL.
    func withSandbox(faults: SandboxFaults = SandboxFaults(), _ body: @Sendable (String, TwilioSandbox) async throws -> Void) async throws {
        var logger = Logger(label: "e2e-sandbox")
        logger.logLevel = .critical
        let sandbox = TwilioSandbox(
            configuration: .init(accountSID: Self.accountSID, authToken: Self.authToken, port: 0, callbackRetries: 0, faults: faults), logger: logger)
        let (ports, portReady) = AsyncStream.makeStream(of: Int.self)
        let app = sandbox.buildApplication { portReady.yield($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw ProcessRunner.Failure(description: "sandbox did not start") }
            do {
                try await body("http://127.0.0.1:\(port)", sandbox)
            } catch {
                group.cancelAll()
                throw error
            }
            group.cancelAll()
        }
    }

    /// A migrated database and Redis database 7 (flushed), so the workers never see other tests' queues.
    func stores() async throws -> (databaseURL: String, redisURL: String, postgres: PostgresClient, redis: RedisClient) {
        let databaseURL = try await TestDatabases.createMigrated()
        guard var redisComponents = URLComponents(string: try TestEnvironment.redisURL()) else {
            throw ProcessRunner.Failure(description: "bad REDIS_URL")
        }
        redisComponents.path = "/7"
        let redisURL = redisComponents.string!
        let postgres = TestDatabases.client(databaseURL, maxConnections: 4)
        var redisConfiguration = try RedisConfiguration(url: redisURL)
        redisConfiguration.maxConnections = 2
        let redis = RedisClient(configuration: redisConfiguration)
        try await redis.command("FLUSHDB")
        return (databaseURL, redisURL, postgres, redis)
    }

    func workerEnvironment(databaseURL: String, redisURL: String, sandboxURL: String, extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = databaseURL
        environment["REDIS_URL"] = redisURL
        environment["PUBLIC_BASE_URL"] = "http://127.0.0.1:1"
        environment["TWILIO_ACCOUNT_SID"] = Self.accountSID
        environment["TWILIO_AUTH_TOKEN"] = Self.authToken
        environment["TWILIO_API_BASE"] = sandboxURL
        environment["WORKER_CONCURRENCY"] = "4"
        // Everything a process says is kept for scripts/scan-logs.sh, which fails the run on a leaked number or secret.
        environment["LOG_LEVEL"] = "debug"
        environment["LOG_FORMAT"] = "json"
        environment["WORKER_HEALTH_PORT"] = String(TestEnvironment.freePort())
        environment.merge(extra) { $1 }
        return environment
    }

    func launch(_ postgres: PostgresClient, _ redis: RedisClient, campaignID: String) async throws -> LaunchResult {
        try await CampaignLauncher(postgres: postgres, queue: SendQueue(redis: redis)).launch(
            tenantID: try await postgres.query("SELECT tenant_id::text FROM campaigns WHERE id = $1::uuid", campaignID)[0].decode(at: 0),
            campaignID: campaignID, audit: AuditEntry(tenantID: nil, actor: .cli, action: "campaign.launch"))
    }

    /// Polls until `count` jobs are `sent` (or `delivered`: a send settled by lookup
    /// takes the sandbox's latest status), or `timeout`; returns the last count.
    func waitForSent(_ postgres: PostgresClient, count: Int, timeout: Duration) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        var sent = 0
        while ContinuousClock.now < deadline {
            sent = try await postgres.query("SELECT count(*) FROM send_jobs WHERE status IN ('sent', 'delivered')")[0].decode(at: 0)
            if sent >= count { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        return sent
    }

    @Test("two worker processes send every one of 10,000 jobs exactly once, then stop cleanly on SIGTERM")
    func twoWorkersSendEachJobOnce() async throws {
        let (databaseURL, redisURL, postgres, redis) = try await stores()
        let count = 10_000
        let campaignID = try await seedCampaign(postgres, recipients: count)
        #expect(try await launch(postgres, redis, campaignID: campaignID).jobsQueued == count)

        try await withSandbox { sandboxURL, sandbox in
            let workers = try (0..<2).map { _ in
                try RunningProcess(
                    try TestEnvironment.binary("smscrm-worker"),
                    environment: workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL,
                                                   extra: ["WORKER_CONCURRENCY": "8"]))
            }
            let sent = try await waitForSent(postgres, count: count, timeout: .seconds(300))

            #expect(sent == count, "worker logs: \(workers.map(\.output))")
            let messages = await sandbox.store.all()
            #expect(messages.count == count)
            #expect(Set(messages.map(\.to)).count == count)
            for worker in workers { #expect(worker.stop(signal: SIGTERM) == 0, "\(worker.output)") }
        }
        await postgres.shutdown()
        await redis.shutdown()
    }

    @Test("kill -9 of a worker mid-run, then a restart: every job sent, none twice")
    func killedWorkerLosesNothing() async throws {
        let (databaseURL, redisURL, postgres, redis) = try await stores()
        let count = 1_500
        let campaignID = try await seedCampaign(postgres, recipients: count, throughput: 300)
        #expect(try await launch(postgres, redis, campaignID: campaignID).jobsQueued == count)

        // Slow answers, so the kill lands on sends in flight; short lease and
        // reconcile delays, so the test does not wait minutes for the repairs.
        var faults = SandboxFaults()
        faults.latencyMilliseconds = 30
        try await withSandbox(faults: faults) { sandboxURL, sandbox in
            let extra = ["SEND_LEASE_SECONDS": "2", "TWILIO_TIMEOUT_SECONDS": "2", "SEND_RECONCILE_AFTER_SECONDS": "1"]
            let environment = workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL, extra: extra)
            let survivor = try RunningProcess(try TestEnvironment.binary("smscrm-worker"), environment: environment)
            let victim = try RunningProcess(
                try TestEnvironment.binary("smscrm-worker"),
                environment: workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL, extra: extra))
            _ = try await waitForSent(postgres, count: count / 3, timeout: .seconds(120))
            kill(victim.pid, SIGKILL)
            _ = victim.stop(signal: SIGKILL)
            let restarted = try RunningProcess(
                try TestEnvironment.binary("smscrm-worker"),
                environment: workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL, extra: extra))

            let sent = try await waitForSent(postgres, count: count, timeout: .seconds(180))
            let statuses = try await postgres.query("SELECT status, count(*) FROM send_jobs GROUP BY status ORDER BY status")
                .map { "\(try $0.decode(at: 0, as: String.self))=\(try $0.decode(at: 1, as: Int.self))" }
            #expect(sent == count, "statuses: \(statuses)")
            let messages = await sandbox.store.all()
            #expect(messages.count == count, "a job was sent twice or lost; statuses: \(statuses)")
            #expect(Set(messages.map(\.to)).count == count)
            let sids = try await postgres.query("SELECT count(DISTINCT provider_sid) FROM send_jobs")[0].decode(at: 0, as: Int.self)
            #expect(sids == count)
            #expect(survivor.stop(signal: SIGTERM) == 0, "\(survivor.output)")
            #expect(restarted.stop(signal: SIGTERM) == 0, "\(restarted.output)")
        }
        await postgres.shutdown()
        await redis.shutdown()
    }

    @Test("once pause has answered the sandbox gets no request for the tenant; after resume every parked job is sent")
    func killSwitchEndToEnd() async throws {
        let (databaseURL, redisURL, postgres, redis) = try await stores()
        let count = 400
        let campaignID = try await seedCampaign(postgres, recipients: count, throughput: 40)
        let tenantID: String = try await postgres.query("SELECT tenant_id::text FROM campaigns WHERE id = $1::uuid", campaignID)[0].decode(at: 0)
        #expect(try await launch(postgres, redis, campaignID: campaignID).jobsQueued == count)
        let (_, secret) = try await IdentityStore(postgres: postgres).createAPIKey(
            tenantID: tenantID, name: "ops", role: .admin, createdBy: nil, audit: AuditEntry(tenantID: tenantID, actor: .cli, action: "apikey.create"))

        var faults = SandboxFaults()
        faults.latencyMilliseconds = 40
        try await withSandbox(faults: faults) { sandboxURL, sandbox in
            var apiEnvironment = workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL)
            let port = TestEnvironment.freePort()
            apiEnvironment["PORT"] = String(port)
            let api = try RunningProcess(try TestEnvironment.binary("smscrm-api"), environment: apiEnvironment)
            let worker = try RunningProcess(
                try TestEnvironment.binary("smscrm-worker"),
                environment: workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL))
            let client = CurlHTTPClient()
            _ = try await waitForHTTP("http://127.0.0.1:\(port)/health", client: client)
            _ = try await waitForSent(postgres, count: 60, timeout: .seconds(60))

            let pause = HTTPClientRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/tenants/\(tenantID)/pause", headers: [("Authorization", "Bearer \(secret)")])
            let paused = try await client.execute(pause)
            let atAnswer = await sandbox.store.all().count
            #expect(paused.status == 200, "\(paused.bodyText)")
            try await Task.sleep(for: .seconds(2))
            #expect(await sandbox.store.all().count == atAnswer, "the sandbox received a request after the pause answered")
            #expect(atAnswer < count)
            let parked = try await postgres.query("SELECT count(*) FROM send_jobs WHERE status = 'parked'")[0].decode(at: 0, as: Int.self)
            #expect(parked > 0)

            let resume = HTTPClientRequest(
                method: "POST", url: "http://127.0.0.1:\(port)/tenants/\(tenantID)/resume", headers: [("Authorization", "Bearer \(secret)")])
            #expect(try await client.execute(resume).status == 200)
            let sent = try await waitForSent(postgres, count: count, timeout: .seconds(60))
            #expect(sent == count)
            let messages = await sandbox.store.all()
            #expect(messages.count == count)
            #expect(Set(messages.map(\.to)).count == count)
            await client.shutdown()
            #expect(worker.stop(signal: SIGTERM) == 0, "\(worker.output)")
            #expect(api.stop(signal: SIGTERM) == 0, "\(api.output)")
        }
        await postgres.shutdown()
        await redis.shutdown()
    }

    @Test("launch → sandbox callbacks → every job delivered and the stats say so; an inbound STOP mid-campaign cancels that contact's rest")
    func callbacksAndInboundStop() async throws {
        let (databaseURL, redisURL, postgres, redis) = try await stores()
        let count = 200
        let campaignID = try await seedCampaign(postgres, recipients: count, throughput: 25)
        let tenantID: String = try await postgres.query("SELECT tenant_id::text FROM campaigns WHERE id = $1::uuid", campaignID)[0].decode(at: 0)
        #expect(try await launch(postgres, redis, campaignID: campaignID).jobsQueued == count)
        let (_, secret) = try await IdentityStore(postgres: postgres).createAPIKey(
            tenantID: tenantID, name: "ops", role: .viewer, createdBy: nil, audit: AuditEntry(tenantID: tenantID, actor: .cli, action: "apikey.create"))

        try await withSandbox { sandboxURL, sandbox in
            let port = TestEnvironment.freePort()
            let publicURL = "http://127.0.0.1:\(port)"
            var apiEnvironment = workerEnvironment(databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL, extra: ["PUBLIC_BASE_URL": publicURL])
            apiEnvironment["PORT"] = String(port)
            let api = try RunningProcess(try TestEnvironment.binary("smscrm-api"), environment: apiEnvironment)
            let client = CurlHTTPClient()
            _ = try await waitForHTTP("\(publicURL)/health", client: client)
            let workerEnvironment = workerEnvironment(
                databaseURL: databaseURL, redisURL: redisURL, sandboxURL: sandboxURL, extra: ["PUBLIC_BASE_URL": publicURL])
            let worker = try RunningProcess(try TestEnvironment.binary("smscrm-worker"), environment: workerEnvironment)
            let workerURL = "http://127.0.0.1:\(workerEnvironment["WORKER_HEALTH_PORT"] ?? "")"
            _ = try await waitForSent(postgres, count: 30, timeout: .seconds(60))

            // The last recipient in line replies STOP before their turn.
            let stopper = try await postgres.query(
                "SELECT id::text, to_phone FROM send_jobs WHERE status = 'queued' ORDER BY created_at DESC, id DESC LIMIT 1")[0]
            let stopperPhone: String = try stopper.decode(at: 1)
            let inbound = try await client.execute(
                HTTPClientRequest(
                    method: "POST", url: "\(sandboxURL)/_sandbox/inbound", headers: [("Content-Type", "application/json")],
                    body: Array(#"{"from": "\#(stopperPhone)", "to": "+61400000123", "body": " Stop. ", "url": "\#(publicURL)/webhooks/twilio/inbound"}"#.utf8)))
            #expect(inbound.status == 200, "\(inbound.bodyText)")
            #expect(inbound.bodyText.contains("unsubscribed"), "the STOP reply: \(inbound.bodyText)")

            // Everyone else ends delivered, through the signed callbacks alone.
            let deadline = ContinuousClock.now + .seconds(90)
            var delivered = 0
            while ContinuousClock.now < deadline {
                delivered = try await postgres.query("SELECT count(*) FROM send_jobs WHERE status = 'delivered'")[0].decode(at: 0)
                if delivered == count - 1 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(delivered == count - 1, "api: \(api.output)")
            let stopped = try await postgres.query("SELECT status FROM send_jobs WHERE id = $1::uuid", try stopper.decode(at: 0, as: String.self))[0]
            #expect(try stopped.decode(at: 0, as: String.self) == "cancelled")
            #expect(await sandbox.store.all().filter { $0.to == stopperPhone }.isEmpty, "a message went to the contact after STOP")
            let unapplied = try await postgres.query("SELECT count(*) FROM webhook_events WHERE processed_at IS NULL")[0].decode(at: 0, as: Int.self)
            #expect(unapplied == 0)

            let stats = try await client.execute(
                HTTPClientRequest(url: "\(publicURL)/tenants/\(tenantID)/campaigns/\(campaignID)/stats", headers: [("Authorization", "Bearer \(secret)")]))
            let body = try JSONSerialization.jsonObject(with: Data(stats.body)) as? [String: Any]
            let jobs = body?["jobs"] as? [String: Int]
            #expect(jobs?["delivered"] == count - 1 && jobs?["cancelled"] == 1, "\(stats.bodyText)")
            #expect(body?["delivered_within_5_min_percent"] as? Double == 100)
            #expect(body?["opt_out_rate_last_100_percent"] as? Double == 0, "the STOP came before any message to them")

            // Both processes' /metrics show the flow with plausible values.
            let apiMetrics = PrometheusText(try await client.execute(HTTPClientRequest(url: "\(publicURL)/metrics")).bodyText)
            #expect(apiMetrics.sum("smscrm_message_outcomes_total", ["status": "delivered"]) == Double(count - 1))
            #expect(apiMetrics.sum("smscrm_http_requests_total", ["route": "/webhooks/twilio/status", "status": "200"]) >= Double(count - 1))
            #expect(apiMetrics.sum("smscrm_http_request_duration_seconds_count", ["route": "/webhooks/twilio/inbound"]) == 1)
            #expect(apiMetrics.sum("smscrm_webhook_events_total", ["kind": "inbound", "outcome": "opt_out"]) == 1)
            #expect(apiMetrics.value("smscrm_dependency_up", ["dependency": "postgres"]) == 1)
            // The worker samples its gauges every 5 s.
            var workerMetrics = PrometheusText("")
            let sampled = ContinuousClock.now + .seconds(15)
            while ContinuousClock.now < sampled {
                workerMetrics = PrometheusText(try await client.execute(HTTPClientRequest(url: "\(workerURL)/metrics")).bodyText)
                if workerMetrics.value("smscrm_queue_depth", ["state": "queued"]) == 0 { break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(workerMetrics.sum("smscrm_jobs_processed_total", ["outcome": "sent"]) == Double(count - 1))
            // The STOPped contact's job was cancelled in PostgreSQL, so its pop was skipped at the claim.
            #expect(workerMetrics.sum("smscrm_jobs_processed_total", ["outcome": "skipped"]) >= 1)
            #expect(workerMetrics.sum("smscrm_twilio_request_duration_seconds_count", ["outcome": "accepted"]) == Double(count - 1))
            #expect(workerMetrics.value("smscrm_queue_depth", ["state": "queued"]) == 0)
            #expect(workerMetrics.value("smscrm_queue_depth", ["state": "dead"]) == 0)
            #expect(workerMetrics.value("smscrm_webhook_lag_seconds", [:]) == 0)
            #expect(workerMetrics.value("smscrm_kill_switch_active", ["scope": "global"]) == 0)
            #expect(workerMetrics.value("smscrm_budget_spent_cents", ["tenant": tenantID, "period": "daily"]).map { $0 > 0 } == true)
            #expect(workerMetrics.value("smscrm_opt_out_rate_last_100_percent", ["tenant": tenantID]) == 0)
            #expect(workerMetrics.value("smscrm_dependency_up", ["dependency": "redis"]) == 1)
            await client.shutdown()
            #expect(worker.stop(signal: SIGTERM) == 0, "\(worker.output)")
            #expect(api.stop(signal: SIGTERM) == 0, "\(api.output)")
        }
        await postgres.shutdown()
        await redis.shutdown()
    }

    /// A UTC tenant whose campaign's quiet window is far from now, `recipients`
    /// consenting contacts on one list and a fast number; returns the campaign id.
    func seedCampaign(_ postgres: PostgresClient, recipients: Int, throughput: Int = 1000) async throws -> String {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = .gmt
        let parts = utc.dateComponents([.hour, .minute], from: Date())
        let quietStart = (((parts.hour ?? 0) + 12) % 24) * 60
        return try await postgres.withTransaction { connection in
            let tenant = try connection.query(
                "INSERT INTO tenants (name, timezone, default_country) VALUES ('E2E', 'UTC', 'AU') RETURNING id::text")[0].decode("id", as: String.self)
            let list = try connection.query("INSERT INTO contact_lists (tenant_id, name) VALUES ($1::uuid, 'all') RETURNING id::text", tenant)[0]
                .decode("id", as: String.self)
            try connection.query(
                """
                INSERT INTO contacts (tenant_id, phone_e164, first_name, timezone, consent_at, consent_source)
                SELECT $1::uuid, '+614' || lpad(g::text, 8, '0'), 'N' || g, 'UTC', now(), 'e2e' FROM generate_series(1, $2::int) g
                """, tenant, recipients)
            try connection.query(
                "INSERT INTO contact_list_members (tenant_id, list_id, contact_id) SELECT $1::uuid, $2::uuid, id FROM contacts WHERE tenant_id = $1::uuid",
                tenant, list)
            let number = try connection.query(
                "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, '+61400000123', 'short_code', $2) RETURNING id::text",
                tenant, throughput)[0].decode("id", as: String.self)
            let campaign = try connection.query(
                """
                INSERT INTO campaigns (tenant_id, name, body_template, quiet_hours_start, quiet_hours_end)
                VALUES ($1::uuid, 'e2e', 'Hi {{first_name}}', $2::smallint, $3::smallint) RETURNING id::text
                """, tenant, quietStart, quietStart + 1)[0].decode("id", as: String.self)
            try connection.query("INSERT INTO campaign_lists (tenant_id, campaign_id, list_id) VALUES ($1::uuid, $2::uuid, $3::uuid)", tenant, campaign, list)
            try connection.query(
                "INSERT INTO campaign_sending_numbers (tenant_id, campaign_id, sending_number_id) VALUES ($1::uuid, $2::uuid, $3::uuid)",
                tenant, campaign, number)
            return campaign
        }
    }
}

/// A parsed Prometheus text exposition, enough to check values in tests.
struct PrometheusText {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let samples: [Sample]

    init(_ text: String) {
        var samples: [Sample] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), let close = series.lastIndex(of: "}") {
                name = String(series[..<open])
                for pair in series[series.index(after: open)..<close].split(separator: ",") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2 else { continue }
                    labels[String(parts[0])] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        self.samples = samples
    }

    private func matching(_ name: String, _ labels: [String: String]) -> [Sample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { sample.labels[$0.key] == $0.value } }
    }

    /// The sum over every series of `name` carrying `labels` (0 when none).
    func sum(_ name: String, _ labels: [String: String]) -> Double { matching(name, labels).map(\.value).reduce(0, +) }

    /// The value of the first series of `name` carrying `labels`; nil when none.
    func value(_ name: String, _ labels: [String: String]) -> Double? { matching(name, labels).first?.value }
}
