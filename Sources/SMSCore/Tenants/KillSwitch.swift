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

    public func setGlobal(paused: Bool) async throws {
        try await setFlag(Self.globalKey, paused)
    }

    public func setTenant(_ tenantID: String, paused: Bool) async throws {
        try await setFlag(Self.tenantKey(tenantID), paused)
    }

    /// Sets (`SET key 1`) or clears (`DEL`) one of the flags.
    func setFlag(_ key: String, _ on: Bool) async throws {
        if on {
            try await redis.command("SET", key, "1")
        } else {
            try await redis.command("DEL", key)
        }
    }

    /// The campaign kill switch: set on pause, cleared on resume and cancel
    /// (cancelled jobs are cancelled in PostgreSQL, which the worker checks on claim).
    public func setCampaign(_ campaignID: String, paused: Bool) async throws {
        try await setFlag(Self.campaignKey(campaignID), paused)
    }

    public func isCampaignPaused(_ campaignID: String) async throws -> Bool {
        try await redis.command("EXISTS", Self.campaignKey(campaignID)).int == 1
    }

    public func isTenantPaused(_ tenantID: String) async throws -> Bool {
        try await redis.command("EXISTS", Self.tenantKey(tenantID)).int == 1
    }

    // MARK: Sends in flight

    /// The sorted set of sends between their last kill-switch check and
    /// Twilio's answer: member `tenant|campaign|job|worker`, score the instant
    /// after which the entry is stale whatever happens.
    public static let inFlightKey = "smscrm:{send}:inflight"

    /// A worker's heartbeat: present while the worker lives. An in-flight
    /// entry whose worker has no heartbeat belongs to a dead worker (SIGKILL,
    /// a lost machine) and holds no pause back: no request of its can start any
    /// more (issue 11, defect 7: a pause waited the full timeout for one).
    public static func heartbeatKey(_ workerID: String) -> String { "smscrm:{send}:worker:\(workerID)" }

    /// How long a heartbeat lasts without renewal; workers renew it six times as
    /// often, so a live worker would have to stall for 2.5 s to be taken for dead.
    public static let heartbeatTTL: Duration = .seconds(3)

    /// Marks the worker alive for ``heartbeatTTL``.
    public func heartbeat(workerID: String) async throws {
        try await redis.command("SET", Self.heartbeatKey(workerID), "1", "PX", Int(Self.heartbeatTTL.components.seconds * 1000))
    }

    /// A worker that stops cleanly says so at once.
    public func stopHeartbeat(workerID: String) async throws {
        try await redis.command("DEL", Self.heartbeatKey(workerID))
    }

    /// One send about to go to Twilio.
    public struct Flight: Sendable, Equatable {
        public var tenantID: String
        public var campaignID: String
        public var jobID: String
        public var workerID: String

        public init(tenantID: String, campaignID: String, jobID: String, workerID: String) {
            self.tenantID = tenantID.lowercased()
            self.campaignID = campaignID.lowercased()
            self.jobID = jobID.lowercased()
            self.workerID = workerID
        }

        var member: String { "\(tenantID)|\(campaignID)|\(jobID)|\(workerID)" }
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

    /// What a pause found in flight.
    public struct Drain: Sendable, Equatable {
        /// Sends of live workers covered by the scope when the wait began.
        public var inFlight: Int
        /// Of those, how many had still no answer when the wait gave up (0 = drained).
        public var stillInFlight: Int
        /// Entries ignored because their worker is dead.
        public var abandoned: Int

        public init(inFlight: Int, stillInFlight: Int, abandoned: Int) {
            self.inFlight = inFlight
            self.stillInFlight = stillInFlight
            self.abandoned = abandoned
        }
    }

    /// Waits until no send of a live worker is in flight in the scope (nil
    /// tenant and campaign: every send), or until `timeout`. Entries of dead
    /// workers are dropped.
    public func waitForInFlight(tenantID: String?, campaignID: String?, timeout: Duration) async throws -> Drain {
        let clock = ContinuousClock()
        let giveUp = clock.now + timeout
        var first: (live: Int, dead: Int)?
        while true {
            let covered = try await liveFlights(tenantID: tenantID, campaignID: campaignID)
            if first == nil { first = covered }
            if covered.live == 0 || clock.now >= giveUp {
                return Drain(inFlight: first?.live ?? 0, stillInFlight: covered.live, abandoned: first?.dead ?? 0)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Covered entries of live workers, and how many dead workers' entries were dropped.
    private func liveFlights(tenantID: String?, campaignID: String?) async throws -> (live: Int, dead: Int) {
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let members = try await redis.command("ZRANGEBYSCORE", Self.inFlightKey, String(now), "+inf").array?.compactMap(\.string) ?? []
        let covered = members.compactMap { member -> (member: String, worker: String?)? in
            let parts = member.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3 else { return nil }
            if let tenantID, parts[0] != tenantID.lowercased() { return nil }
            if let campaignID, parts[1] != campaignID.lowercased() { return nil }
            return (member, parts.count >= 4 ? parts[3] : nil)
        }
        let workers = Array(Set(covered.compactMap(\.worker)))
        guard !workers.isEmpty else { return (covered.count, 0) }
        let alive = try await redis.pipeline(workers.map { RedisCommand("EXISTS", Self.heartbeatKey($0)) })
        let dead = Set(zip(workers, alive).filter { $0.1.int != 1 }.map(\.0))
        let abandoned = covered.filter { $0.worker.map(dead.contains) ?? false }.map(\.member)
        if !abandoned.isEmpty {
            _ = try await redis.pipeline([RedisCommand("ZREM", [Self.inFlightKey] + abandoned.map { $0 as any RedisArgument })])
        }
        return (covered.count - abandoned.count, abandoned.count)
    }

    /// KEYS: global, tenant and campaign flags, the in-flight set. ARGV: member, stale-after ms, now ms.
    /// Entries past their deadline are dropped on the way.
    static let beginScript = RedisScript(
        """
        redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', '(' .. ARGV[3])
        if redis.call('EXISTS', KEYS[1], KEYS[2], KEYS[3]) > 0 then return 0 end
        redis.call('ZADD', KEYS[4], tonumber(ARGV[2]), ARGV[1])
        return 1
        """)
}
