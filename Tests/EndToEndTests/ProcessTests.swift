import Curl
import Foundation
import Postgres
import Testing
import TestSupport

/// The environment an API or worker process needs, on free ports.
func processEnvironment(databaseURL: String, redisURL: String, port: Int, healthPort: Int) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment
    environment["DATABASE_URL"] = databaseURL
    environment["REDIS_URL"] = redisURL
    environment["PORT"] = String(port)
    environment["WORKER_HEALTH_PORT"] = String(healthPort)
    environment["API_HOST"] = "127.0.0.1"
    environment["WORKER_HEALTH_HOST"] = "127.0.0.1"
    environment["PUBLIC_BASE_URL"] = "http://127.0.0.1:\(port)"
    environment["TWILIO_ACCOUNT_SID"] = "AC00000000000000000000000000000000"
    environment["TWILIO_AUTH_TOKEN"] = "test-token"
    environment["TWILIO_API_BASE"] = "http://127.0.0.1:1"
    environment["LOG_FORMAT"] = "json"
    return environment
}

@Suite("Executables", .serialized)
struct ProcessTests {
    @Test("two smscrm migrate processes started at once apply each file exactly once")
    func concurrentMigrateAppliesOnce() async throws {
        let url = try await TestDatabases.createEmpty()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("race-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: TestEnvironment.migrationsDirectory, toPath: directory)
        // A slow migration that counts its own runs: a second application would show as 2.
        try """
            -- 9000_count_runs: records each time it runs, slowly, to widen the race.
            CREATE TABLE migration_runs (n int);
            SELECT pg_sleep(1);
            INSERT INTO migration_runs VALUES (1);
            """.write(toFile: directory + "/9000_count_runs.sql", atomically: true, encoding: .utf8)
        let smscrm = try TestEnvironment.binary("smscrm")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url
        environment["LOG_FORMAT"] = "text"
        let migrateEnvironment = environment

        let results = try await withThrowingTaskGroup(of: ProcessRunner.Result.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try ProcessRunner.run(smscrm, arguments: ["migrate", "--dir", directory], environment: migrateEnvironment, timeout: .seconds(120))
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }

        for result in results { #expect(result.status == 0, "migrate failed: \(result.stderr)") }
        let appliedCounts = results.map { $0.stdout.components(separatedBy: "applied 9000_count_runs.sql").count - 1 }
        #expect(appliedCounts.reduce(0, +) == 1)
        #expect(results.filter { $0.stdout.contains("nothing to apply") }.count == 2)
        let client = TestDatabases.client(url, maxConnections: 1)
        defer { Task { await client.shutdown() } }
        #expect(try await client.query("SELECT count(*) AS n FROM migration_runs")[0].decode("n", as: Int.self) == 1)
        let versions = try await client.query("SELECT version FROM schema_migrations")
        #expect(versions.count == (try FileManager.default.contentsOfDirectory(atPath: directory).count))
    }

    @Test("smscrm migrate refuses an edited file with a clear message and exit status 1")
    func migrateRefusesEditedFile() async throws {
        let url = try await TestDatabases.createEmpty()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("edit-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: TestEnvironment.migrationsDirectory, toPath: directory)
        let smscrm = try TestEnvironment.binary("smscrm")
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url
        let first = try ProcessRunner.run(smscrm, arguments: ["migrate", "--dir", directory], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let file = directory + "/0001_init.sql"
        try (try String(contentsOfFile: file, encoding: .utf8) + "\n-- edited\n").write(toFile: file, atomically: true, encoding: .utf8)

        let second = try ProcessRunner.run(smscrm, arguments: ["migrate", "--dir", directory], environment: environment)
        let status = try ProcessRunner.run(smscrm, arguments: ["migrate", "status", "--dir", directory], environment: environment)

        #expect(second.status == 1)
        #expect(second.stderr.contains("0001_init.sql was edited after it was applied"))
        #expect(status.status == 1)
        #expect(status.stdout.contains("EDITED"))
    }

    @Test("smscrm-api without DATABASE_URL exits non-zero and names the variable")
    func apiWithoutDatabaseURL() throws {
        var environment = ProcessInfo.processInfo.environment
        for name in ["DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"] {
            environment[name] = nil
        }

        let result = try ProcessRunner.run(try TestEnvironment.binary("smscrm-api"), arguments: [], environment: environment, timeout: .seconds(20))

        #expect(result.status != 0)
        for name in ["DATABASE_URL", "REDIS_URL", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"] {
            #expect(result.stderr.contains(name), "stderr does not name \(name): \(result.stderr)")
        }
    }

    @Test("smscrm-api serves /health and /ready, and an idle one stops cleanly on SIGTERM at once, saying so")
    func apiHealthReadyAndShutdown() async throws {
        let url = try await TestDatabases.createMigrated()
        let port = TestEnvironment.freePort()
        let api = try RunningProcess(
            try TestEnvironment.binary("smscrm-api"),
            environment: processEnvironment(databaseURL: url, redisURL: try TestEnvironment.redisURL(), port: port, healthPort: 1))
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }

        let health = try await waitForHTTP("http://127.0.0.1:\(port)/health", client: client)
        let ready = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ready"))

        #expect(health.status == 200, "\(api.output)")
        let healthBody = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
        #expect(healthBody?["status"] as? String == "healthy")
        #expect(healthBody?["timestamp"] is String)
        #expect(ready.status == 200, "\(ready.bodyText)")
        let stopping = ContinuousClock.now
        #expect(api.stop(signal: SIGTERM) == 0, "\(api.output)")
        // Was 7-10 s (a sampler's sleep); 0.02 s measured. Generous against a loaded machine.
        #expect(ContinuousClock.now - stopping < .seconds(3))
        #expect(api.output.contains("\"stopped\""))
    }

    @Test("a second smscrm-api on a port already taken exits 1 with one line naming the error, not a crash report")
    func apiOnATakenPortExitsCleanly() async throws {
        let url = try await TestDatabases.createMigrated()
        let port = TestEnvironment.freePort()
        let environment = processEnvironment(databaseURL: url, redisURL: try TestEnvironment.redisURL(), port: port, healthPort: 1)
        let first = try RunningProcess(try TestEnvironment.binary("smscrm-api"), environment: environment)
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        _ = try await waitForHTTP("http://127.0.0.1:\(port)/health", client: client)

        let second = try ProcessRunner.run(try TestEnvironment.binary("smscrm-api"), arguments: [], environment: environment, timeout: .seconds(20))

        #expect(second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("smscrm-api: "), "\(second.stderr)")
        #expect(second.stderr.contains("Address already in use"), "\(second.stderr)")
        #expect(!second.stderr.contains("crashed"), "\(second.stderr)")
        #expect(first.stop(signal: SIGTERM) == 0, "\(first.output)")
    }

    @Test("/ready answers 503 naming Redis when Redis is unreachable, while /health stays 200")
    func readyNamesTheFailingDependency() async throws {
        let url = try await TestDatabases.createMigrated()
        let port = TestEnvironment.freePort()
        let deadRedis = "redis://127.0.0.1:\(TestEnvironment.freePort())/0"
        let api = try RunningProcess(
            try TestEnvironment.binary("smscrm-api"),
            environment: processEnvironment(databaseURL: url, redisURL: deadRedis, port: port, healthPort: 1))
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }

        _ = try await waitForHTTP("http://127.0.0.1:\(port)/health", client: client)
        let ready = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/ready"))

        #expect(ready.status == 503)
        let body = try JSONSerialization.jsonObject(with: Data(ready.body)) as? [String: Any]
        let checks = body?["checks"] as? [String: String]
        #expect(checks?["postgres"] == "ok")
        #expect(checks?["redis"]?.hasPrefix("unreachable") == true)
        let error = body?["error"] as? [String: Any]
        #expect(error?["code"] as? String == "not_ready")
        #expect((error?["message"] as? String)?.contains("redis") == true)
        #expect(api.stop(signal: SIGINT) == 0, "\(api.output)")
    }

    @Test("smscrm-worker answers /health on WORKER_HEALTH_PORT, and an idle one stops cleanly on SIGTERM at once, saying so")
    func workerHealthAndShutdown() async throws {
        let url = try await TestDatabases.createMigrated()
        let healthPort = TestEnvironment.freePort()
        // A Redis database of its own: the worker's consumers must not pop other tests' queued jobs.
        var redis = try #require(URLComponents(string: try TestEnvironment.redisURL()))
        redis.path = "/8"
        let worker = try RunningProcess(
            try TestEnvironment.binary("smscrm-worker"),
            environment: processEnvironment(databaseURL: url, redisURL: redis.string!, port: 1, healthPort: healthPort))
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }

        let health = try await waitForHTTP("http://127.0.0.1:\(healthPort)/health", client: client)

        #expect(health.status == 200, "\(worker.output)")
        let body = try JSONSerialization.jsonObject(with: Data(health.body)) as? [String: Any]
        #expect(body?["status"] as? String == "healthy")
        #expect(body?["postgres"] as? String == "ok")
        #expect(body?["redis"] as? String == "ok")
        let queue = body?["queue"] as? [String: Int]
        #expect(queue?["queued"] == 0 && queue?["active"] == 0 && queue?["delayed"] == 0 && queue?["dead"] == 0, "\(String(describing: body))")
        let stopping = ContinuousClock.now
        #expect(worker.stop(signal: SIGTERM) == 0, "\(worker.output)")
        #expect(ContinuousClock.now - stopping < .seconds(3))
        #expect(worker.output.contains("finishing the jobs in hand"))
    }

    @Test("smscrm pause --all / resume --all / queue / sessions revoke work against real servers and are audited")
    func operatorCommands() async throws {
        let url = try await TestDatabases.createMigrated()
        var redis = try #require(URLComponents(string: try TestEnvironment.redisURL()))
        redis.path = "/6"  // the global flag must not reach other tests' workers
        var environment = ProcessInfo.processInfo.environment
        environment["DATABASE_URL"] = url
        environment["REDIS_URL"] = redis.string!
        environment["LOG_LEVEL"] = "warning"
        let cli = try TestEnvironment.binary("smscrm")
        func run(_ arguments: [String]) throws -> ProcessRunner.Result {
            try ProcessRunner.run(cli, arguments: arguments, environment: environment, timeout: .seconds(60))
        }

        let paused = try run(["pause", "--all", "--reason", "maintenance"])
        #expect(paused.status == 0, "\(paused.stderr)")
        #expect(paused.stdout.contains("paused all sending"))
        let queue = try run(["queue"])
        #expect(queue.status == 0, "\(queue.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(queue.stdout.utf8)) as? [String: Any]
        #expect(report?["pending"] as? Int == 0)
        #expect(report?["redis"] is [String: Any])
        let resumed = try run(["resume", "--all"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("resumed all sending"))
        let revoke = try run(["sessions", "revoke", "--all"])
        #expect(revoke.status == 0, "\(revoke.stderr)")
        let both = try run(["pause"])
        #expect(both.status != 0)
        #expect(both.stderr.contains("--all"))

        let postgres = TestDatabases.client(url, maxConnections: 1)
        let actions = try await postgres.query("SELECT action, details->>'reason' FROM audit_log ORDER BY id").map {
            "\(try $0.decode(at: 0, as: String.self)):\(try $0.decodeIfPresent(at: 1, as: String.self) ?? "")"
        }
        #expect(actions == ["platform.pause:maintenance", "platform.resume:", "sessions.revoke:"])
        await postgres.shutdown()
    }
}
