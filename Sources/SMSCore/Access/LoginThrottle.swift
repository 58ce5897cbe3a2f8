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

    /// Counts this attempt against the email's and the address's limits
    /// before the password is checked, in one atomic step: of many attempts
    /// sent at once, only as many as the limit allows go on to the password
    /// check (issue 12: 40 parallel attempts were all checked when the count
    /// was read before bcrypt and written after). A successful login gives
    /// its count back (``recordSuccess(email:ip:)``).
    /// - Returns: seconds until a login may be tried again, or nil when this one may go on.
    public func reserve(email: String, ip: String?) async throws -> Int? {
        let keys = keys(email: email, ip: ip)
        let wait = try await redis.run(
            Self.reserveScript, keys: keys.map(\.key), arguments: [String(window.components.seconds)] + keys.map { String($0.limit) }
        ).int ?? 0
        return wait > 0 ? wait : nil
    }

    /// KEYS: the counters. ARGV: window seconds, then each key's limit.
    /// Returns 0 when every count is within its limit, else the longest wait in seconds.
    static let reserveScript = RedisScript(
        """
        local wait = 0
        for i, key in ipairs(KEYS) do
          local count = redis.call('INCR', key)
          if count == 1 then redis.call('EXPIRE', key, tonumber(ARGV[1])) end
          if count > tonumber(ARGV[i + 1]) then
            local ttl = redis.call('TTL', key)
            if ttl < 1 then ttl = 1 end
            if ttl > wait then wait = ttl end
          end
        end
        return wait
        """)

    /// A successful login clears the email's failures and gives the address back the attempt it reserved.
    public func recordSuccess(email: String, ip: String?) async throws {
        let keys = keys(email: email, ip: ip)
        var commands = [RedisCommand("DEL", keys[0].key)]
        if keys.count > 1 { commands.append(RedisCommand("DECR", keys[1].key)) }
        _ = try await redis.pipeline(commands)
    }

    /// What a throttled login came to.
    public enum Outcome: Sendable {
        case throttled(retryAfter: Int)
        case invalidCredentials
        case loggedIn(User, token: String)
    }

    /// The one login sequence the API and the UI share: reserve the attempt,
    /// check the password, and give the reservation back on success.
    public func login(identity: IdentityStore, email: String, password: String, ip: String?, userAgent: String?) async throws -> Outcome {
        if let wait = try await reserve(email: email, ip: ip) { return .throttled(retryAfter: wait) }
        do {
            let (user, token) = try await identity.login(email: email, password: password, ip: ip, userAgent: userAgent)
            try await recordSuccess(email: email, ip: ip)
            return .loggedIn(user, token: token)
        } catch AuthenticationError.invalidCredentials {
            // The attempt was counted before the check.
            return .invalidCredentials
        }
    }
}
