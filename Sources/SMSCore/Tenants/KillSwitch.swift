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
}
