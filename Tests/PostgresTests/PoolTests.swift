import ConnectionPool
import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Postgres pool")
struct PoolTests {
    @Test("fifty concurrent tasks on a pool of five all complete, never above five connections")
    func manyTasksShareFewConnections() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty(), maxConnections: 5)
        defer { Task { await client.shutdown() } }

        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for n in 0..<50 {
                group.addTask {
                    let rows = try await client.query("SELECT $1::int + 1 AS n, pg_sleep(0.02)", n)
                    return try rows[0].decode("n", as: Int.self)
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }

        #expect(results.sorted() == Array(1...50))
        #expect(client.openConnections <= 5)
        let sessions = try await client.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'smscrm-tests' AND datname = current_database()")
        #expect(try sessions[0].decode("n", as: Int.self) <= 5)
    }

    @Test("the acquire timeout fires when every connection stays busy")
    func acquireTimesOut() async throws {
        let url = try await TestDatabases.createEmpty()
        let client = PostgresClient(configuration: .init(url: url, maxConnections: 1, acquireTimeout: .milliseconds(200)))
        defer { Task { await client.shutdown() } }
        let holder = Task { try await client.query("SELECT pg_sleep(4)") }
        try await Task.sleep(for: .milliseconds(200))

        let started = ContinuousClock.now
        let error = await #expect(throws: ConnectionPoolError.self) { try await client.query("SELECT 1") }

        #expect(error == .acquireTimedOut(waited: .milliseconds(200)))
        // It gave up long before the holder finished.
        #expect(ContinuousClock.now - started < .seconds(3))
        _ = try await holder.value
    }

    @Test("a connection that a failed connect never opened gives its place back")
    func connectFailureFreesTheSlot() async throws {
        let client = PostgresClient(
            configuration: .init(url: "postgres://nobody@127.0.0.1:1/none", maxConnections: 1, acquireTimeout: .seconds(1)))
        defer { Task { await client.shutdown() } }

        for _ in 0..<3 {
            let error = await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
            #expect(error?.code == .connectionFailed)
        }
        #expect(client.openConnections == 0)
    }

    @Test("key=value connection strings work as well as URLs")
    func keyValueConnectionString() async throws {
        let url = try TestEnvironment.databaseURL()
        let components = try #require(URLComponents(string: url))
        let keyValue = "host=\(components.host!) port=\(components.port!) user=\(components.user!) dbname=postgres"
        let client = PostgresClient(configuration: .init(url: keyValue, maxConnections: 1))
        defer { Task { await client.shutdown() } }

        let rows = try await client.query("SELECT current_database() AS db")

        #expect(try rows[0].decode("db", as: String.self) == "postgres")
    }
}

@Suite("Postgres restart", .serialized)
struct PostgresRestartTests {
    @Test("a query after the server restarted succeeds once it is back")
    func queryAfterRestart() async throws {
        let client = PostgresClient(configuration: .init(url: try TestEnvironment.restartableDatabaseURL(), maxConnections: 3))
        defer { Task { await client.shutdown() } }
        // Open and park connections in the pool, so the restart leaves them dead.
        _ = try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 { group.addTask { try await client.query("SELECT pg_sleep(0.05)") } }
            try await group.waitForAll()
        }

        try TestEnvironment.restart("postgres")

        for n in 0..<5 {
            let rows = try await client.query("SELECT $1::int AS n", n)
            #expect(try rows[0].decode("n", as: Int.self) == n)
        }
    }
}
