import Foundation
import Redis

/// Counts failed logins per email and per IP in Redis; past the limits, logins
/// are refused until the window ends.
public struct LoginThrottle: Sendable {
    public var maxFailuresPerEmail = 5
    public var maxFailuresPerIP = 20
    public var window: Duration = .seconds(15 * 60)
    let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// Emails are hashed in the key: no personal data in Redis key names.
    func keys(email: String, ip: String?) -> [(key: String, limit: Int)] {
        var keys = [(key: "smscrm:login:fail:email:\(Secrets.sha256Hex(email.lowercased()))", limit: maxFailuresPerEmail)]
        if let ip { keys.append((key: "smscrm:login:fail:ip:\(ip)", limit: maxFailuresPerIP)) }
        return keys
    }

    /// Seconds until a login may be tried again, or nil when it may be tried now.
    public func retryAfter(email: String, ip: String?) async throws -> Int? {
        let keys = keys(email: email, ip: ip)
        let replies = try await redis.pipeline(keys.flatMap { [RedisCommand("GET", $0.key), RedisCommand("TTL", $0.key)] })
        var wait: Int?
        for (index, entry) in keys.enumerated() {
            let count = replies[index * 2].int ?? 0
            let ttl = replies[index * 2 + 1].int ?? 0
            if count >= entry.limit { wait = max(wait ?? 0, max(ttl, 1)) }
        }
        return wait
    }

    public func recordFailure(email: String, ip: String?) async throws {
        let seconds = Int(window.components.seconds)
        _ = try await redis.pipeline(
            keys(email: email, ip: ip).flatMap { [RedisCommand("INCR", $0.key), RedisCommand("EXPIRE", $0.key, seconds, "NX")] })
    }

    public func recordSuccess(email: String) async throws {
        try await redis.command("DEL", keys(email: email, ip: nil)[0].key)
    }
}
