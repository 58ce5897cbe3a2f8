import Foundation

/// Where and how to connect to Redis.
public struct RedisConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var password: String?
    public var username: String?
    public var database: Int
    /// Bounds the TCP connect. Default 2 s.
    public var connectTimeout: Duration
    /// Socket read timeout for each command; a command that takes longer fails
    /// and its connection is replaced. Default 5 s.
    public var commandTimeout: Duration
    /// Connections open at most (`REDIS_POOL_SIZE`). Default 10.
    public var maxConnections: Int
    /// How long a caller waits for a free connection. Default 5 s.
    public var acquireTimeout: Duration

    public init(
        host: String = "127.0.0.1", port: Int = 6379, password: String? = nil, username: String? = nil,
        database: Int = 0, connectTimeout: Duration = .seconds(2), commandTimeout: Duration = .seconds(5),
        maxConnections: Int = 10, acquireTimeout: Duration = .seconds(5)
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.username = username
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.maxConnections = maxConnections
        self.acquireTimeout = acquireTimeout
    }

    /// Parses `redis://[[user]:password@]host[:port][/db]`.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis" else {
            throw RedisError(code: .invalidURL, message: "expected redis://[:password@]host[:port][/db]")
        }
        guard let host = components.host, !host.isEmpty else {
            throw RedisError(code: .invalidURL, message: "the URL has no host")
        }
        self.init(host: host, port: components.port ?? 6379)
        if let password = components.password, !password.isEmpty {
            self.password = password.removingPercentEncoding ?? password
            if let user = components.user, !user.isEmpty { self.username = user.removingPercentEncoding ?? user }
        } else if let user = components.user, !user.isEmpty {
            // redis://secret@host: a lone user part is the password, as redis-cli reads it.
            self.password = user.removingPercentEncoding ?? user
        }
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let db = Int(path), db >= 0 else {
                throw RedisError(code: .invalidURL, message: "the database must be a number, as in redis://host:6379/0")
            }
            self.database = db
        }
    }
}
