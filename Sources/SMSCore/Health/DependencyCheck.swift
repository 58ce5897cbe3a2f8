import Foundation
import Postgres
import Redis

/// Checks that PostgreSQL and Redis answer, each within a deadline, for
/// `/ready` on the API and `/health` on the worker.
public struct DependencyCheck: Sendable {
    /// The outcome for one dependency: `nil` when it answered, else why not.
    public struct Report: Sendable {
        public var postgres: String?
        public var redis: String?
        public var isReady: Bool { postgres == nil && redis == nil }
        /// The dependencies that failed, by name.
        public var failing: [String] {
            [postgres == nil ? nil : "postgres", redis == nil ? nil : "redis"].compactMap { $0 }
        }
    }

    let postgres: PostgresClient
    let redis: RedisClient
    let deadline: Duration

    public init(postgres: PostgresClient, redis: RedisClient, deadline: Duration = .seconds(2)) {
        self.postgres = postgres
        self.redis = redis
        self.deadline = deadline
    }

    public func run() async -> Report {
        async let pg = probe { _ = try await postgres.query("SELECT 1") }
        async let rd = probe { _ = try await redis.command("PING") }
        return Report(postgres: await pg, redis: await rd)
    }

    /// `nil` when `work` finished in time, else a short reason without secrets.
    private func probe(_ work: @escaping @Sendable () async throws -> Void) async -> String? {
        let deadline = self.deadline
        return await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await work()
                    return nil
                } catch let error as PostgresError {
                    return "unreachable (\(error.code))"
                } catch let error as RedisError {
                    return "unreachable (\(error.code))"
                } catch {
                    return "unreachable (\(type(of: error)))"
                }
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return "no answer within \(deadline)"
            }
            let first = await group.next() ?? "unknown"
            group.cancelAll()
            return first
        }
    }
}

extension Duration {
    /// Whole milliseconds, for logs and metrics.
    public var milliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
