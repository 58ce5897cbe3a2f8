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
    func withSandbox(_ body: @Sendable (String, TwilioSandbox) async throws -> Void) async throws {
        var logger = Logger(label: "e2e-sandbox")
        logger.logLevel = .critical
        let sandbox = TwilioSandbox(
            configuration: .init(accountSID: Self.accountSID, authToken: Self.authToken, port: 0, callbackRetries: 0), logger: logger)
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

    @Test("two worker processes send every one of 300 jobs exactly once, then stop cleanly on SIGTERM")
    func twoWorkersSendEachJobOnce() async throws {
        let databaseURL = try await TestDatabases.createMigrated()
        // A Redis database of its own, so the workers never see other tests' queues.
        guard var redisComponents = URLComponents(string: try TestEnvironment.redisURL()) else { return }
        redisComponents.path = "/7"
        let redisURL = redisComponents.string!
        let postgres = TestDatabases.client(databaseURL, maxConnections: 4)
        var redisConfiguration = try RedisConfiguration(url: redisURL)
        redisConfiguration.maxConnections = 2
        let redis = RedisClient(configuration: redisConfiguration)
        try await redis.command("FLUSHDB")
        let count = 300
        let campaignID = try await seedCampaign(postgres, recipients: count)
        let launched = try await CampaignLauncher(postgres: postgres, queue: SendQueue(redis: redis)).launch(
            tenantID: try await postgres.query("SELECT tenant_id::text FROM campaigns WHERE id = $1::uuid", campaignID)[0].decode(at: 0),
            campaignID: campaignID, audit: AuditEntry(tenantID: nil, actor: .cli, action: "campaign.launch"))
        #expect(launched.jobsQueued == count)

        try await withSandbox { sandboxURL, sandbox in
            var environment = ProcessInfo.processInfo.environment
            environment["DATABASE_URL"] = databaseURL
            environment["REDIS_URL"] = redisURL
            environment["PUBLIC_BASE_URL"] = "http://127.0.0.1:1"
            environment["TWILIO_ACCOUNT_SID"] = Self.accountSID
            environment["TWILIO_AUTH_TOKEN"] = Self.authToken
            environment["TWILIO_API_BASE"] = sandboxURL
            environment["WORKER_CONCURRENCY"] = "4"
            environment["LOG_LEVEL"] = "warning"
            let workers = try (0..<2).map { _ in
                var own = environment
                own["WORKER_HEALTH_PORT"] = String(TestEnvironment.freePort())
                return try RunningProcess(try TestEnvironment.binary("smscrm-worker"), environment: own)
            }

            let deadline = ContinuousClock.now + .seconds(60)
            var sent = 0
            while ContinuousClock.now < deadline {
                sent = try await postgres.query("SELECT count(*) FROM send_jobs WHERE status = 'sent'")[0].decode(at: 0)
                if sent == count { break }
                try await Task.sleep(for: .milliseconds(200))
            }

            #expect(sent == count, "worker logs: \(workers.map(\.output))")
            let messages = await sandbox.store.all()
            #expect(messages.count == count)
            #expect(Set(messages.map(\.to)).count == count)
            for worker in workers { #expect(worker.stop(signal: SIGTERM) == 0, "\(worker.output)") }
        }
        await postgres.shutdown()
        await redis.shutdown()
    }

    /// A UTC tenant whose campaign's quiet window is far from now, `recipients`
    /// consenting contacts on one list and a fast number; returns the campaign id.
    func seedCampaign(_ postgres: PostgresClient, recipients: Int) async throws -> String {
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
                "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, '+61400000123', 'short_code', 1000) RETURNING id::text",
                tenant)[0].decode("id", as: String.self)
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
