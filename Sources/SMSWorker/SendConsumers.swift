import Foundation
import Logging
import SMSCore
import ServiceLifecycle
import Synchronization

/// What the worker's health report says about its own work.
final class WorkerActivity: Sendable {
    private let lastJob = Mutex<Date?>(nil)

    func jobProcessed(at date: Date = Date()) { lastJob.withLock { $0 = date } }
    var lastJobAt: Date? { lastJob.withLock { $0 } }
}

/// `WORKER_CONCURRENCY` consumers that pop jobs and run them through
/// `SendProcessor`. On SIGTERM they stop popping and finish the job in hand.
struct SendConsumers: Service {
    let processor: SendProcessor
    let queue: SendQueue
    let concurrency: Int
    let activity: WorkerActivity
    let logger: Logger

    func run() async throws {
        let inHand = JobsInHand()
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<concurrency {
                group.addTask { await consume(index, inHand: inHand) }
            }
            group.addTask {
                // Says what a SIGTERM waits for: the jobs being sent right now.
                try? await gracefulShutdown()
                logger.notice("stopping: finishing the jobs in hand", metadata: ["jobs": "\(inHand.count)"])
            }
        }
        logger.notice("send consumers stopped")
    }

    /// How many jobs the consumers are working on.
    final class JobsInHand: Sendable {
        private let value = Mutex(0)
        func add(_ delta: Int) { value.withLock { $0 += delta } }
        var count: Int { value.withLock { $0 } }
    }

    private func consume(_ index: Int, inHand: JobsInHand) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                switch try await queue.pop() {
                case .job(let job):
                    // The job in hand is finished even during shutdown: its row and lease must be settled.
                    inHand.add(1)
                    defer { inHand.add(-1) }
                    let outcome = try await processor.process(job)
                    activity.jobProcessed()
                    Telemetry.jobProcessed(outcome)
                    logger.debug("job processed", metadata: ["job_id": "\(job.jobID)", "outcome": "\(outcome)"])
                case .wait(let milliseconds):
                    try await pause(milliseconds: min(milliseconds, 250))
                case .empty:
                    try await pause(milliseconds: 200)
                }
            } catch is CancellationError {
                return
            } catch {
                // A failure here leaves the job leased: the reaper hands it out again
                // and the claim in PostgreSQL keeps it from being sent twice.
                logger.error("consumer error", metadata: ["consumer": "\(index)", "error": "\(error)"])
                try? await pause(milliseconds: 1_000)
            }
        }
    }

    private func pause(milliseconds: Int) async throws {
        await sleepUnlessShuttingDown(for: .milliseconds(milliseconds))
    }
}

/// The periodic duties every worker runs; each is safe to run on many
/// replicas at once (the queue scripts are atomic, the database duties take
/// their rows with SKIP LOCKED). A failing duty is logged and tried again on
/// its next turn; it never stops the others.
struct PipelineDuties: Service {
    let queue: SendQueue
    let recovery: SendRecovery
    let launcher: CampaignLauncher
    let campaigns: CampaignStore
    let webhooks: TwilioWebhooks
    let retention: Retention
    let logger: Logger

    func run() async throws {
        var tick = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // Every second: Redis's data still there (else the queue is restored from
            // PostgreSQL), due delayed jobs back into their lists, dead consumers' leases back out.
            await duty("redis restore") { _ = try await recovery.restoreAfterRedisLoss() }
            await duty("queue") {
                let promoted = try await queue.promoteDue()
                let reaped = try await queue.reapExpiredLeases()
                if reaped > 0 { logger.notice("reaped expired leases", metadata: ["jobs": "\(reaped)"]) }
                if promoted > 0 { logger.debug("promoted due jobs", metadata: ["jobs": "\(promoted)"]) }
            }
            if tick % 5 == 0 {
                await duty("scheduled launches") { _ = try await launcher.launchDue(logger: logger) }
                await duty("stuck sends") { _ = try await recovery.recoverStuck() }
                await duty("unknown sends") { _ = try await recovery.settleUnknown() }
                await duty("unsettled sent jobs") { _ = try await recovery.settleUnsettledSent() }
                await duty("finished campaigns") {
                    let completed = try await campaigns.completeFinished()
                    if !completed.isEmpty { logger.info("campaigns completed", metadata: ["campaigns": "\(completed.count)"]) }
                }
                await duty("unapplied webhooks") { _ = try await webhooks.applyPending() }
            }
            if tick % 30 == 15 {
                await duty("lost jobs") { _ = try await recovery.sweepLost() }
            }
            if tick % 300 == 60 {
                await duty("retention") {
                    let purged = try await retention.purge()
                    if purged.webhookEvents + purged.auditEntries > 0 {
                        logger.info(
                            "purged old rows", metadata: ["webhook_events": "\(purged.webhookEvents)", "audit_entries": "\(purged.auditEntries)"])
                    }
                }
            }
            tick += 1
            await sleepUnlessShuttingDown(for: .seconds(1))
        }
    }

    private func duty(_ name: String, _ body: () async throws -> Void) async {
        do {
            try await body()
        } catch {
            logger.error("periodic duty failed", metadata: ["duty": "\(name)", "error": "\(error)"])
        }
    }
}

/// Keeps this worker's heartbeat fresh (six renewals per
/// ``KillSwitch/heartbeatTTL``), so a pause counts its sends in flight as
/// live, and removes it on a clean stop. A SIGKILLed worker's heartbeat
/// lapses within the TTL and a pause stops waiting for its sends.
struct WorkerHeartbeat: Service, CustomStringConvertible {
    let killSwitch: KillSwitch
    let workerID: String
    let logger: Logger

    var description: String { "WorkerHeartbeat" }

    func run() async throws {
        let interval = KillSwitch.heartbeatTTL / 6
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await killSwitch.heartbeat(workerID: workerID)
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            }
            await sleepUnlessShuttingDown(for: interval)
        }
        // The consumers (stopped before this service) have finished: say so at once.
        try? await killSwitch.stopHeartbeat(workerID: workerID)
    }
}

// ServiceLifecycle logs each service with String(describing:); the default
// would print every stored property, configuration and secrets included.
extension SendConsumers: CustomStringConvertible {
    var description: String { "SendConsumers(concurrency: \(concurrency))" }
}

extension PipelineDuties: CustomStringConvertible {
    var description: String { "PipelineDuties" }
}
