import ConnectionPool
import ServiceLifecycle

/// The application's handle on Redis: a bounded pool of hiredis connections
/// whose blocking calls run on the pool's own threads. A connection the server
/// dropped (restart, timeout) is replaced on its next use.
public final class RedisClient: Sendable, Service {
    public let configuration: RedisConfiguration
    private let pool: BlockingConnectionPool<RedisConnection>

    public init(configuration: RedisConfiguration) {
        self.configuration = configuration
        self.pool = BlockingConnectionPool(
            configuration: .init(
                maxConnections: configuration.maxConnections,
                acquireTimeout: configuration.acquireTimeout,
                name: "redis"),
            connect: { try RedisConnection(configuration: configuration) })
    }

    /// Runs `body` with exclusive use of one connection, on a pool thread.
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    /// Sends one command; an error reply is thrown as ``RedisError``.
    @discardableResult
    public func command(_ name: String, _ arguments: any RedisArgument...) async throws -> RedisValue {
        let command = RedisCommand(name, arguments)
        return try await pool.withConnection { try $0.command(command) }
    }

    /// Sends all commands in one round trip; replies come back in order,
    /// error replies in place.
    public func pipeline(_ commands: [RedisCommand]) async throws -> [RedisValue] {
        try await pool.withConnection { try $0.pipeline(commands) }
    }

    /// Runs a script with EVALSHA, loading it when the server lost it.
    @discardableResult
    public func run(_ script: RedisScript, keys: [String] = [], arguments: [String] = []) async throws -> RedisValue {
        try await pool.withConnection { try $0.run(script, keys: keys, arguments: arguments) }
    }

    /// Connections open right now.
    public var openConnections: Int { pool.openConnections }

    public func shutdown() async { await pool.shutdown() }

    /// Holds the pool open until graceful shutdown, then closes it.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}
