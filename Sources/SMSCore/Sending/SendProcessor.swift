import Foundation
import Logging
import Postgres
import Redis

/// What happened to one popped job, for logs, metrics and tests.
public enum JobOutcome: Sendable, Equatable {
    /// Someone else claimed it, or it is no longer pending.
    case skipped
    /// The contact was deleted or the campaign cancelled meanwhile.
    case cancelled
    case parked
    case blocked(Gate)
    case deferred(Gate, until: Date)
    case sent(sid: String)
    case retrying(until: Date)
    case failed(code: Int)
    case dead
    case unknown
}

/// Takes one job from the queue through claim, every gate, the send and the
/// record (docs/ARCHITECTURE.md, "The send path, step by step", steps 3–7).
///
/// PostgreSQL is the truth at every step: the claim is a conditional UPDATE, so a
/// job popped twice is sent once; the queue is settled after the row.
public struct SendProcessor: Sendable {
    public struct Configuration: Sendable {
        /// Identifies this consumer in `send_jobs.claimed_by` and its in-flight sends.
        public var workerID: String
        /// Where Twilio posts status callbacks (PUBLIC_BASE_URL).
        public var publicBaseURL: String
        /// First retry delay; doubles per attempt, with jitter.
        public var backoffBase: Duration = .seconds(2)
        public var backoffCap: Duration = .seconds(300)
        /// Which provider codes suppress the recipient's number.
        public var errorPolicy = ProviderErrorPolicy()

        public init(workerID: String, publicBaseURL: String) {
            self.workerID = workerID
            self.publicBaseURL = publicBaseURL
        }
    }

    public let configuration: Configuration
    let jobs: SendJobs
    let redis: RedisClient
    let provider: any MessagingProvider
    let killSwitch: KillSwitch
    let logger: Logger

    public init(
        configuration: Configuration, postgres: PostgresClient, redis: RedisClient, queue: SendQueue, provider: any MessagingProvider,
        logger: Logger
    ) {
        self.configuration = configuration
        self.jobs = SendJobs(postgres: postgres, queue: queue)
        self.redis = redis
        self.provider = provider
        self.killSwitch = KillSwitch(redis: redis)
        self.logger = logger
    }

    public func process(_ job: QueuedJob, now: Date = Date()) async throws -> JobOutcome {
        guard let claimed = try await jobs.claim([job], workerID: configuration.workerID).first else {
            try await jobs.queue.complete(job)
            return .skipped
        }
        guard let snapshot = claimed.snapshot else {
            try await jobs.finish([claimed], as: .drop, gate: nil, reason: claimed.cancelReason ?? "cancelled")
            return .cancelled
        }
        switch ComplianceGates.evaluate(snapshot, now: now) {
        case .park:
            return try await park(claimed)
        case .block(let gate, let reason):
            try await jobs.finish([claimed], as: .block, gate: gate, reason: reason)
            return .blocked(gate)
        case .deferUntil(let gate, let until):
            try await jobs.postpone([claimed], gate: gate, until: until)
            return .deferred(gate, until: until)
        case .pass:
            break
        }
        // The kill switch once more, in Redis, atomically with registering the
        // send as in flight: a pause that answered after this point waits for it,
        // and one that answered before it parks the job here.
        let flight = KillSwitch.Flight(
            tenantID: claimed.tenantID, campaignID: claimed.campaignID, jobID: job.jobID, workerID: configuration.workerID)
        guard try await killSwitch.beginSend(flight, staleAfter: provider.timeout + .seconds(10)) else {
            return try await park(claimed)
        }
        do {
            let outcome = try await send(claimed, snapshot: snapshot, now: now)
            try await killSwitch.endSend(flight)
            return outcome
        } catch {
            try? await killSwitch.endSend(flight)
            throw error
        }
    }

    /// Parked, or given straight back when the pause was already lifted.
    private func park(_ claimed: ClaimedJob) async throws -> JobOutcome {
        try await jobs.park([claimed]) == 1 ? .parked : .skipped
    }

    /// Budget, warmup, the request to Twilio and its record.
    private func send(_ claimed: ClaimedJob, snapshot: GateSnapshot, now: Date) async throws -> JobOutcome {
        switch try await jobs.admit(claimed, at: now) {
        case .claimLost:
            // Reconciled away while we held it: the reconciler queued the job
            // again, so it is no longer ours. Nothing was reserved or counted.
            try await jobs.queue.complete(claimed.job)
            return .skipped
        case .deferred(let gate, let until):
            try await jobs.postpone([claimed], gate: gate, until: until)
            return .deferred(gate, until: until)
        case .started:
            break
        }
        try await countRate(tenantID: claimed.tenantID, now: now)

        let validity = Int(ComplianceGates.windowCloses(after: now, snapshot: snapshot).timeIntervalSince(now))
        let outcome = await provider.send(
            OutboundMessage(
                to: claimed.toPhone, from: claimed.fromPhone, body: claimed.body,
                statusCallback: "\(configuration.publicBaseURL)/webhooks/twilio/status?job_id=\(claimed.job.jobID)",
                validityPeriod: max(60, validity)))
        let kind: AttemptResult.Kind
        let result: JobOutcome
        switch outcome {
        case .accepted(let sid, let status):
            kind = .accepted(sid: sid, providerStatus: status)
            result = .sent(sid: sid)
        case .retryable(let failure):
            if claimed.attempts + 1 >= claimed.maxAttempts {
                kind = .giveUp(reason: "gave up after \(claimed.attempts + 1) attempts: \(failure.reason)")
                result = .dead
            } else {
                let until = now.addingTimeInterval(backoff(attempt: claimed.attempts + 1, hint: failure.retryAfter))
                kind = .retry(until: until, reason: failure.reason)
                result = .retrying(until: until)
            }
        case .rejected(let code, let message, _):
            kind = .rejected(code: code, reason: "\(provider.name) \(code): \(message)")
            result = .failed(code: code)
        case .ambiguous(let failure):
            // Never re-sent blindly: the status callback or a lookup settles it
            // (SendRecovery.settleUnknown); the reservation stays until then.
            kind = .lost(reason: failure.reason)
            result = .unknown
        }
        try await jobs.record(
            [AttemptResult(job: claimed.job, tenantID: claimed.tenantID, toPhone: claimed.toPhone, kind: kind)],
            suppressionPolicy: configuration.errorPolicy)
        return result
    }

    /// Exponential backoff with full jitter, or Twilio's Retry-After when longer.
    func backoff(attempt: Int, hint: Duration?) -> TimeInterval {
        let base = Double(configuration.backoffBase.components.seconds)
        let cap = Double(configuration.backoffCap.components.seconds)
        let ceiling = min(cap, base * pow(2, Double(max(0, attempt - 1))))
        let jittered = Double.random(in: ceiling / 2...ceiling)
        return max(jittered, Double(hint?.components.seconds ?? 0))
    }

    /// The runbook's per-tenant counter: `rate:tenant:{id}:{epoch minute}`.
    private func countRate(tenantID: String, now: Date) async throws {
        let key = "rate:tenant:\(tenantID):\(Int(now.timeIntervalSince1970) / 60)"
        _ = try await redis.pipeline([RedisCommand("INCR", key), RedisCommand("EXPIRE", key, 180)])
    }
}
