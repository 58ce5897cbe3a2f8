import Logging
import Postgres
import Redis

/// The long-lived clients a process shares, built once from the configuration
/// and passed down through initialisers.
public struct AppServices: Sendable {
    public let configuration: AppConfiguration
    public let postgres: PostgresClient
    public let redis: RedisClient
    public let logger: Logger
    /// Session lifetimes and the bcrypt cost; tests lower the cost.
    public var sessionPolicy: SessionPolicy

    public init(configuration: AppConfiguration, applicationName: String, logger: Logger, sessionPolicy: SessionPolicy = .init()) {
        self.configuration = configuration
        self.sessionPolicy = sessionPolicy
        self.postgres = PostgresClient(
            configuration: .init(
                url: configuration.databaseURL, maxConnections: configuration.databasePoolSize,
                applicationName: applicationName))
        self.redis = RedisClient(configuration: configuration.redis)
        self.logger = logger
    }

    public var dependencyCheck: DependencyCheck { DependencyCheck(postgres: postgres, redis: redis) }
}
