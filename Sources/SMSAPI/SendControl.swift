import Foundation
import Logging
import SMSCore

/// What the API does to the send path around a kill switch or a budget change.
struct SendControl: Sendable {
    let killSwitch: KillSwitch
    let recovery: SendRecovery
    /// How long a pause waits for sends already on their way to Twilio.
    let drainTimeout: Duration
    let logger: Logger

    init(services: AppServices) {
        killSwitch = KillSwitch(redis: services.redis)
        recovery = SendRecovery(
            configuration: .init(workerID: "api", reconcileAfter: services.configuration.reconcileAfter), postgres: services.postgres,
            queue: SendQueue(redis: services.redis), twilio: nil, logger: services.logger)
        drainTimeout = services.configuration.twilioTimeout + .seconds(5)
        logger = services.logger
    }

    /// After the flag is set: waits until the sends it covers that were already
    /// past their last check have had Twilio's answer, so that once the pause
    /// answers, Twilio receives no new request in its scope.
    func drain(tenantID: String?, campaignID: String?) async throws {
        let left = try await killSwitch.waitForInFlight(tenantID: tenantID, campaignID: campaignID, timeout: drainTimeout)
        if left > 0 {
            logger.warning(
                "pause answered with sends still in flight", metadata: ["in_flight": "\(left)", "tenant_id": "\(tenantID ?? "all")"])
        }
    }

    /// After a resume: the parked jobs go back to the front of their queues.
    func wake(tenantID: String?, campaignID: String?) async throws {
        let woken = try await recovery.wakeParked(tenantID: tenantID, campaignID: campaignID)
        if woken > 0 { logger.info("resumed parked jobs", metadata: ["jobs": "\(woken)", "tenant_id": "\(tenantID ?? "all")"]) }
    }
}
