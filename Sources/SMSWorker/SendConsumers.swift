import Foundation
import Logging
import SMSCore
import ServiceLifecycle

/// `WORKER_CONCURRENCY` consumers that pop jobs and run them through
/// `SendProcessor`. On SIGTERM they stop popping and finish the job in hand.
struct SendConsumers: Service {
    let processor: SendProcessor
    let queue: SendQueue
    let concurrency: Int
    let logger: Logger

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<concurrency {
                group.addTask { await consume(index) }
            }
        }
    }

    private func consume(_ index: Int) async {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                switch try await queue.pop() {
                case .job(let job):
                    // The job in hand is finished even during shutdown: its row and lease must be settled.
                    let outcome = try await processor.process(job)
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
        try await Task.sleep(for: .milliseconds(milliseconds))
    }
}

/// The periodic duties every worker runs; each is safe to run on many
/// replicas at once (the queue scripts are atomic).
struct QueueDuties: Service {
    let queue: SendQueue
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let promoted = try await queue.promoteDue()
                let reaped = try await queue.reapExpiredLeases()
                if reaped > 0 { logger.notice("reaped expired leases", metadata: ["jobs": "\(reaped)"]) }
                if promoted > 0 { logger.debug("promoted due jobs", metadata: ["jobs": "\(promoted)"]) }
            } catch {
                logger.error("queue duty failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
