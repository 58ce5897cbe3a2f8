import Foundation
import Logging
import Postgres
import Redis

/// What a kill switch or a budget change does to the send path, for the API
/// and the CLI alike: after a pause, wait for the sends already on their way;
/// after a resume, put parked jobs back; after a cap change, wake deferred jobs.
public struct SendControl: Sendable {
    public let killSwitch: KillSwitch
    public let recovery: SendRecovery
    /// How long a pause waits for sends already on their way to Twilio.
    public let drainTimeout: Duration
    let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, configuration: AppConfiguration, logger: Logger) {
        killSwitch = KillSwitch(redis: redis)
        recovery = SendRecovery(
            configuration: .init(workerID: "control", reconcileAfter: configuration.reconcileAfter), postgres: postgres,
            queue: SendQueue(redis: redis), twilio: nil, logger: logger)
        drainTimeout = configuration.twilioTimeout + .seconds(5)
        self.logger = logger
    }

    /// After the flag is set: waits until the sends it covers that were already
    /// past their last check have had Twilio's answer, so that once the pause
    /// answers, Twilio receives no new request in its scope.
    /// - Returns: how many covered sends were still in flight when it stopped waiting.
    @discardableResult
    public func drain(tenantID: String?, campaignID: String?) async throws -> Int {
        let left = try await killSwitch.waitForInFlight(tenantID: tenantID, campaignID: campaignID, timeout: drainTimeout)
        if left > 0 {
            logger.warning(
                "pause answered with sends still in flight", metadata: ["in_flight": "\(left)", "tenant_id": "\(tenantID ?? "all")"])
        }
        return left
    }

    /// After a resume: the parked jobs go back to the front of their queues.
    /// - Returns: how many parked jobs were queued again.
    @discardableResult
    public func wake(tenantID: String?, campaignID: String?) async throws -> Int {
        let woken = try await recovery.wakeParked(tenantID: tenantID, campaignID: campaignID)
        if woken > 0 { logger.info("resumed parked jobs", metadata: ["jobs": "\(woken)", "tenant_id": "\(tenantID ?? "all")"]) }
        return woken
    }
}
