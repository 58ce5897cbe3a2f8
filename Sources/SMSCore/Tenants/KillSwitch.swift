import Foundation
import Redis

/// The Redis copy of the kill switches that workers read before every send.
///
/// PostgreSQL holds the truth (`tenants.paused_at`, `platform_settings`); the
/// API writes the Redis flag before it answers, so a worker that checks the flag
/// stops sending for that tenant as soon as the pause call has returned. Keys
/// carry the send queue's hash tag so queue scripts can read them on Redis Cluster.
public struct KillSwitch: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    public static func tenantKey(_ tenantID: String) -> String { "smscrm:{send}:paused:tenant:\(tenantID.lowercased())" }
    public static let globalKey = "smscrm:{send}:paused:global"
    public static func campaignKey(_ campaignID: String) -> String { "smscrm:{send}:paused:campaign:\(campaignID.lowercased())" }

    public func setTenant(_ tenantID: String, paused: Bool) async throws {
        if paused {
            try await redis.command("SET", Self.tenantKey(tenantID), "1")
        } else {
            try await redis.command("DEL", Self.tenantKey(tenantID))
        }
    }

    /// The campaign kill switch: set on pause, cleared on resume and cancel
    /// (cancelled jobs are cancelled in PostgreSQL, which the worker checks on claim).
    public func setCampaign(_ campaignID: String, paused: Bool) async throws {
        if paused {
            try await redis.command("SET", Self.campaignKey(campaignID), "1")
        } else {
            try await redis.command("DEL", Self.campaignKey(campaignID))
        }
    }

    public func isCampaignPaused(_ campaignID: String) async throws -> Bool {
        try await redis.command("EXISTS", Self.campaignKey(campaignID)).int == 1
    }

    public func isTenantPaused(_ tenantID: String) async throws -> Bool {
        try await redis.command("EXISTS", Self.tenantKey(tenantID)).int == 1
    }

    // MARK: Sends in flight

    /// The sorted set of sends between their last kill-switch check and
    /// Twilio's answer: member `tenant|campaign|job`, score the instant after
    /// which the entry is stale (its worker died).
    public static let inFlightKey = "smscrm:{send}:inflight"

    /// One send about to go to Twilio.
    public struct Flight: Sendable, Equatable {
        public var tenantID: String
        public var campaignID: String
        public var jobID: String

        public init(tenantID: String, campaignID: String, jobID: String) {
            self.tenantID = tenantID.lowercased()
            self.campaignID = campaignID.lowercased()
            self.jobID = jobID.lowercased()
        }

        var member: String { "\(tenantID)|\(campaignID)|\(jobID)" }
    }

    /// Checks the global, tenant and campaign flags and, only if none is set,
    /// records the send as in flight, in one atomic step. Because a pause sets
    /// its flag first and then waits for the in-flight entries it covers, no
    /// request for a paused scope can start after the pause has answered.
    /// - Returns: false when a kill switch covers the send (park it).
    public func beginSend(_ flight: Flight, staleAfter: Duration) async throws -> Bool {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let deadline = now + Int64(staleAfter.components.seconds) * 1000
        return try await redis.run(
            Self.beginScript, keys: [Self.globalKey, Self.tenantKey(flight.tenantID), Self.campaignKey(flight.campaignID), Self.inFlightKey],
            arguments: [flight.member, String(deadline), String(now)]
        ).int == 1
    }

    /// Twilio has answered (or the send was abandoned).
    public func endSend(_ flight: Flight) async throws {
        try await redis.command("ZREM", Self.inFlightKey, flight.member)
    }

    /// Waits until no live in-flight send is covered by the scope (nil tenant
    /// and campaign: every send), or until `timeout`.
    /// - Returns: how many covered sends were still in flight when it gave up (0 when drained).
    @discardableResult
    public func waitForInFlight(tenantID: String?, campaignID: String?, timeout: Duration) async throws -> Int {
        let clock = ContinuousClock()
        let giveUp = clock.now + timeout
        while true {
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let members = try await redis.command("ZRANGEBYSCORE", Self.inFlightKey, String(now), "+inf").array?.compactMap(\.string) ?? []
            let covered = members.filter { member in
                let parts = member.split(separator: "|").map(String.init)
                guard parts.count == 3 else { return false }
                if let tenantID, parts[0] != tenantID.lowercased() { return false }
                if let campaignID, parts[1] != campaignID.lowercased() { return false }
                return true
            }.count
            if covered == 0 || clock.now >= giveUp { return covered }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// KEYS: global, tenant and campaign flags, the in-flight set. ARGV: member, stale-after ms, now ms.
    /// Entries left by dead workers are dropped on the way.
    static let beginScript = RedisScript(
        """
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[3])
        if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then return 0 end
        redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[1])
        return 1
        """)
}
