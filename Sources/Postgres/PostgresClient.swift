import ConnectionPool
import ServiceLifecycle

/// The application's handle on PostgreSQL: a bounded pool of libpq connections
/// whose blocking calls run on the pool's own threads.
///
/// Work is passed as a synchronous closure that gets exclusive use of one
/// connection; the connection never escapes it.
public final class PostgresClient: Sendable, Service {
    /// Where to connect and how many connections to keep.
    public struct Configuration: Sendable {
        /// `DATABASE_URL`: URI or key/value form.
        public var url: String
        /// Connections open at most (`DATABASE_POOL_SIZE`). Default 10.
        public var maxConnections: Int
        /// How long a caller waits for a free connection. Default 5 s.
        public var acquireTimeout: Duration
        /// Seconds libpq waits for the server to accept a connection. Default 5.
        public var connectTimeoutSeconds: Int
        /// Shown in `pg_stat_activity`.
        public var applicationName: String

        public init(
            url: String, maxConnections: Int = 10, acquireTimeout: Duration = .seconds(5),
            connectTimeoutSeconds: Int = 5, applicationName: String = "smscrm"
        ) {
            self.url = url
            self.maxConnections = maxConnections
            self.acquireTimeout = acquireTimeout
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.applicationName = applicationName
        }
    }

    public let configuration: Configuration
    private let pool: BlockingConnectionPool<PostgresConnection>

    public init(configuration: Configuration) {
        self.configuration = configuration
        let url = configuration.url
        let name = configuration.applicationName
        let timeout = configuration.connectTimeoutSeconds
        self.pool = BlockingConnectionPool(
            configuration: .init(
                maxConnections: configuration.maxConnections,
                acquireTimeout: configuration.acquireTimeout,
                name: "postgres"),
            connect: { try PostgresConnection(url: url, applicationName: name, connectTimeoutSeconds: timeout) })
    }

    /// Runs `body` with exclusive use of one connection, on a pool thread.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    /// Runs `body` in a transaction that commits when it returns and rolls back when it throws.
    @discardableResult
    public func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await pool.withConnection { connection in try connection.withTransaction(body) }
    }

    /// Runs one parameterized statement.
    @discardableResult
    public func query(_ sql: String, _ binds: [PostgresBind]) async throws -> PostgresRows {
        try await pool.withConnection { connection in try connection.query(sql, binds) }
    }

    /// Runs one parameterized statement with variadic binds.
    @discardableResult
    public func query(_ sql: String, _ binds: any PostgresEncodable...) async throws -> PostgresRows {
        try await query(sql, binds.map { $0.postgresBind })
    }

    /// Connections open right now.
    public var openConnections: Int { pool.openConnections }

    /// Closes the pool; later calls fail with `ConnectionPoolError.closed`.
    public func shutdown() async { await pool.shutdown() }

    /// Holds the pool open until graceful shutdown, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
