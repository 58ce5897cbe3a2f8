import Foundation
import Logging
import Postgres
import Redis

/// Which sends a kill switch covers.
public enum KillSwitchScope: Sendable, Equatable {
    case platform
    case tenant(String)
    case campaign(tenantID: String, campaignID: String)

    var tenantID: String? {
        switch self {
        case .platform: nil
        case .tenant(let id): id
        case .campaign(let id, _): id
        }
    }

    var campaignID: String? {
        if case .campaign(_, let id) = self { return id }
        return nil
    }
}

/// What a kill-switch change did.
public struct KillSwitchChange: Sendable {
    /// The scope's state after the change.
    public enum State: Sendable {
        case platform(PlatformKillSwitch.State)
        case tenant(Tenant)
        case campaign(Campaign, cancelledJobs: Int)
    }

    public var state: State
    /// A pause: the sends of live workers that were already on their way, and how many had no answer yet when it answered.
    public var drain: KillSwitch.Drain?
    /// A resume: parked jobs put back at the front of their queues.
    public var resumedJobs: Int?

    /// The platform's state with what the change did, for `/admin/pause` and `/admin/resume`.
    public var platform: PlatformKillSwitch.State? {
        guard case .platform(var state) = state else { return nil }
        state.inFlight = drain?.inFlight
        state.stillInFlight = drain?.stillInFlight
        state.resumedJobs = resumedJobs
        return state
    }
}

/// The kill switch, every scope, as one operation that the API, the CLI and
/// the UI all call (docs/ARCHITECTURE.md, "The kill switch"):
///
/// 1. store the state in PostgreSQL (the truth) with its audit entry;
/// 2. set or clear the Redis flag the workers check right before each send;
/// 3. on pause, wait for the sends of live workers that were already past
///    their last check (so once the pause answers, the provider receives no
///    new request in its scope); on resume, put the parked jobs back at the
///    front of their queues, in order.
///
/// Raising a budget cap wakes budget-deferred jobs through the same type.
public struct SendControl: Sendable {
    public let killSwitch: KillSwitch
    public let recovery: SendRecovery
    let jobs: SendJobs
    let postgres: PostgresClient
    /// How long a pause waits for sends already on their way to the provider.
    public let drainTimeout: Duration
    let logger: Logger

    public init(postgres: PostgresClient, redis: RedisClient, configuration: AppConfiguration, logger: Logger) {
        let queue = SendQueue(redis: redis)
        killSwitch = KillSwitch(redis: redis)
        jobs = SendJobs(postgres: postgres, queue: queue)
        recovery = SendRecovery(
            configuration: .init(workerID: "control", reconcileAfter: configuration.reconcileAfter), postgres: postgres,
            queue: queue, provider: nil, logger: logger)
        drainTimeout = configuration.twilioTimeout + .seconds(5)
        self.postgres = postgres
        self.logger = logger
    }

    /// Pauses or resumes the scope; nil when its tenant or campaign does not exist.
    /// Idempotent: pausing a paused scope keeps the first pause's time, author and reason.
    /// - Throws: ``CampaignError/wrongStatus(_:_:)`` for a campaign that cannot be paused or resumed.
    public func set(_ scope: KillSwitchScope, paused: Bool, actor: String, reason: String?, audit: AuditEntry) async throws -> KillSwitchChange? {
        let state: KillSwitchChange.State
        switch scope {
        case .platform:
            state = .platform(try await PlatformKillSwitch(postgres: postgres).store(paused: paused, by: actor, reason: reason, audit: audit))
            try await killSwitch.setGlobal(paused: paused)
        case .tenant(let id):
            guard let tenant = try await TenantStore(postgres: postgres).setPaused(id: id, paused: paused, by: actor, reason: reason, audit: audit)
            else { return nil }
            state = .tenant(tenant)
            try await killSwitch.setTenant(id, paused: paused)
        case .campaign(let tenantID, let campaignID):
            guard let (campaign, _) = try await applyCampaign(paused ? .pause : .resume, tenantID: tenantID, campaignID: campaignID, actor: actor, audit: audit)
            else { return nil }
            state = .campaign(campaign, cancelledJobs: 0)
            try await killSwitch.setCampaign(campaignID, paused: campaign.status == .paused)
        }
        var change = KillSwitchChange(state: state)
        if paused {
            change.drain = try await drain(scope)
        } else {
            change.resumedJobs = try await wake(scope)
        }
        return change
    }

    /// Cancels a campaign: its pending jobs are cancelled with it (and leave
    /// Redis's delayed set), and its flag is cleared. Nil when there is no such campaign.
    public func cancel(tenantID: String, campaignID: String, actor: String, audit: AuditEntry) async throws -> KillSwitchChange? {
        guard let (campaign, cancelled) = try await applyCampaign(.cancel, tenantID: tenantID, campaignID: campaignID, actor: actor, audit: audit)
        else { return nil }
        try await killSwitch.setCampaign(campaignID, paused: false)
        return KillSwitchChange(state: .campaign(campaign, cancelledJobs: cancelled))
    }

    private func applyCampaign(
        _ transition: CampaignStore.Transition, tenantID: String, campaignID: String, actor: String, audit: AuditEntry
    ) async throws -> (Campaign, Int)? {
        try await jobs.transaction { tx in
            try CampaignStore.apply(tx, transition, tenantID: tenantID, id: campaignID, by: actor, audit: audit)
        }
    }

    /// After the flag is set: waits until the sends it covers that were already
    /// past their last check have had the provider's answer.
    func drain(_ scope: KillSwitchScope) async throws -> KillSwitch.Drain {
        let drain = try await killSwitch.waitForInFlight(tenantID: scope.tenantID, campaignID: scope.campaignID, timeout: drainTimeout)
        if drain.stillInFlight > 0 {
            logger.warning(
                "pause answered with sends still in flight",
                metadata: ["in_flight": "\(drain.stillInFlight)", "tenant_id": "\(scope.tenantID ?? "all")"])
        }
        if drain.abandoned > 0 {
            logger.notice("pause ignored sends of workers that are gone", metadata: ["entries": "\(drain.abandoned)"])
        }
        return drain
    }

    /// After a resume: the parked jobs go back to the front of their queues.
    func wake(_ scope: KillSwitchScope) async throws -> Int {
        let woken = try await recovery.wakeParked(tenantID: scope.tenantID, campaignID: scope.campaignID)
        if woken > 0 { logger.info("resumed parked jobs", metadata: ["jobs": "\(woken)", "tenant_id": "\(scope.tenantID ?? "all")"]) }
        return woken
    }

    /// After a budget cap was raised or removed: the tenant's budget-deferred jobs become due now.
    @discardableResult
    public func wakeBudgetDeferred(tenantID: String) async throws -> Int {
        try await recovery.wakeBudgetDeferred(tenantID: tenantID)
    }
}
