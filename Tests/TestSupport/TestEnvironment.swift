import Foundation
import Postgres
import Redis
import SMSCore

#if canImport(Glibc)
import Glibc
#endif

/// What `scripts/test.sh` exports for the tests: the throwaway servers and the
/// built executables. A test run without them fails with a pointer to the script.
public enum TestEnvironment {
    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String { "\(variable) is not set: run the tests through scripts/test.sh, which starts the servers" }
    }

    public static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    /// A maintenance connection URL of the shared test PostgreSQL (database `postgres`).
    public static func databaseURL() throws -> String { try value("DATABASE_URL") }
    public static func redisURL() throws -> String { try value("REDIS_URL") }

    /// The PostgreSQL and Redis that restart tests may stop and start; nothing else uses them.
    public static func restartableDatabaseURL() throws -> String { try value("SMSCRM_TEST_RESTARTABLE_DATABASE_URL") }
    public static func restartableRedisURL() throws -> String { try value("SMSCRM_TEST_RESTARTABLE_REDIS_URL") }

    /// The repository root, found from this file's path.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public static var migrationsDirectory: String { packageRoot + "/migrations" }

    /// Where `swift build` put the executables.
    public static func binary(_ name: String) throws -> String {
        let directory = try value("SMSCRM_BIN_DIR")
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else { throw Missing(variable: "SMSCRM_BIN_DIR (\(path) missing)") }
        return path
    }

    /// Restarts the restartable server (`postgres` or `redis`) and waits until it answers.
    public static func restart(_ server: String) throws {
        let script = try value(server == "postgres" ? "SMSCRM_TEST_RESTART_POSTGRES" : "SMSCRM_TEST_RESTART_REDIS")
        let result = try ProcessRunner.run(script, arguments: [], timeout: .seconds(60))
        guard result.status == 0 else {
            throw ProcessRunner.Failure(description: "\(script) exited \(result.status): \(result.stderr)")
        }
    }

    /// A TCP port nobody listens on right now, chosen by the kernel.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Databases of their own for tests, on the shared test server.
public enum TestDatabases {
    static let admin: PostgresClient? = {
        guard let url = try? TestEnvironment.databaseURL() else { return nil }
        // Hundreds of parallel tests queue here for CREATE DATABASE; waiting is fine.
        return PostgresClient(
            configuration: .init(url: url, maxConnections: 2, acquireTimeout: .seconds(600), applicationName: "smscrm-tests"))
    }()

    static func adminClient() throws -> PostgresClient {
        guard let admin else { throw TestEnvironment.Missing(variable: "DATABASE_URL") }
        return admin
    }

    /// The connection URL of database `name` on the test server.
    public static func url(of name: String) throws -> String {
        guard var components = URLComponents(string: try TestEnvironment.databaseURL()) else {
            throw TestEnvironment.Missing(variable: "DATABASE_URL (not a URL)")
        }
        components.path = "/" + name
        return components.string!
    }

    /// A new, empty database; returns its URL.
    public static func createEmpty() async throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        // Identifiers cannot be bound; `name` is generated above, never input.
        try await adminClient().query("CREATE DATABASE \(name)")
        return try url(of: String(name))
    }

    /// A new database cloned from a template that has every migration applied.
    public static func createMigrated() async throws -> String {
        let template = try await MigratedTemplate.shared.name()
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        try await MigratedTemplate.shared.clone(template: template, into: String(name))
        return try url(of: String(name))
    }

    /// A client for `url` with a small pool.
    public static func client(_ url: String, maxConnections: Int = 4) -> PostgresClient {
        PostgresClient(configuration: .init(url: url, maxConnections: maxConnections, applicationName: "smscrm-tests"))
    }
}

/// Migrates one template database per test process, then hands out clones
/// (`CREATE DATABASE … TEMPLATE`), which is much faster than migrating each.
actor MigratedTemplate {
    static let shared = MigratedTemplate()
    private var ready: Task<String, any Error>?

    func name() async throws -> String {
        if let ready { return try await ready.value }
        let task = Task<String, any Error> {
            let name = "smscrm_template_\(getpid())_\(UInt32.random(in: 0...UInt32.max))"
            try await TestDatabases.adminClient().query("CREATE DATABASE \(name)")
            let client = TestDatabases.client(try TestDatabases.url(of: name), maxConnections: 1)
            do {
                try await Migrator(client: client, directory: TestEnvironment.migrationsDirectory).migrate()
            } catch {
                await client.shutdown()
                throw error
            }
            // No session may stay connected to a template while it is cloned.
            await client.shutdown()
            return name
        }
        ready = task
        return try await task.value
    }

    /// Clones one at a time: PostgreSQL refuses a clone while another session uses the template.
    func clone(template: String, into name: String) async throws {
        try await TestDatabases.adminClient().query("CREATE DATABASE \(name) TEMPLATE \(template)")
    }
}

/// A unique key prefix per test, so tests can share one Redis in parallel.
public func uniqueRedisPrefix() -> String {
    "test:\(UUID().uuidString.prefix(8)):"
}
