import Foundation
import Logging
import Postgres

/// The send path's repairs, run by every worker as periodic duties and safe to
/// run on many replicas at once (each takes its rows with `FOR UPDATE SKIP
/// LOCKED` and a short lease). Every write goes through ``SendJobs``.
///
/// - ``recoverStuck(now:)``: jobs left in `sending` by a worker that died;
/// - ``settleUnknown(now:)``: sends that may or may not have reached the
///   provider, settled by looking the message up, re-sent only when it has none;
/// - ``settleUnsettledSent(now:)``: `sent` jobs whose final status report
///   never came, looked up and settled as the report would have settled them;
/// - ``restoreAfterRedisLoss(now:)``: every pending job back in Redis after
///   Redis lost its data, in order, page by page;
/// - ``sweepLost(now:)``: pending jobs Redis no longer holds for another
///   reason (a push that failed after the launch committed);
/// - ``wakeParked(tenantID:campaignID:)`` and ``wakeBudgetDeferred(tenantID:)``:
///   called by resume and by a raised cap, so waiting jobs go at once.
public struct SendRecovery: Sendable {
    public struct Configuration: Sendable {
        /// Identifies this worker in `claimed_by` while it settles a job.
        public var workerID: String
        /// How long a job may sit in `sending` or `unknown` before it is
        /// reconciled; must exceed the Twilio timeout, or a send still waiting
        /// for its answer could be looked up too early and sent twice.
        public var reconcileAfter: Duration
        /// How long a `sent` job waits for its final report before a lookup
        /// (`SEND_STATUS_RECONCILE_AFTER_SECONDS`), and between lookups.
        public var statusReconcileAfter: Duration = .seconds(900)
        /// `sent` jobs looked up per duty run: the pace of those lookups
        /// (the duty runs every 5 s, so 50 is 10 requests a second at most).
        public var statusBatchSize = 50
        /// How long a pending job must have been left alone before the sweep
        /// treats its absence from Redis as a loss.
        public var lostAfter: Duration = .seconds(120)
        /// Rows handled per duty run.
        public var batchSize = 200
        /// Pending jobs read per page when Redis is restored.
        public var restorePageSize = 10_000

        public init(workerID: String, reconcileAfter: Duration) {
            self.workerID = workerID
            self.reconcileAfter = reconcileAfter
        }
    }

    public let configuration: Configuration
    let postgres: PostgresClient
    let jobs: SendJobs
    let queue: SendQueue
    let provider: (any MessagingProvider)?
    let errorPolicy: ProviderErrorPolicy
    let logger: Logger

    /// `provider` may be nil where no lookup is needed (the API wakes jobs only).
    public init(
        configuration: Configuration, postgres: PostgresClient, queue: SendQueue, provider: (any MessagingProvider)?,
        errorPolicy: ProviderErrorPolicy = ProviderErrorPolicy(), logger: Logger
    ) {
        self.configuration = configuration
        self.postgres = postgres
        self.jobs = SendJobs(postgres: postgres, queue: queue)
        self.queue = queue
        self.provider = provider
        self.errorPolicy = errorPolicy
        self.logger = logger
    }

    // MARK: Stuck `sending` rows

    /// Jobs whose worker died holding them. One whose attempt never started
    /// goes back to `queued` (its reservation released); one whose request may
    /// have gone out becomes `unknown`, for ``settleUnknown(now:)``.
    /// - Returns: how many jobs were requeued and how many became unknown.
    @discardableResult
    public func recoverStuck(now: Date = Date()) async throws -> (requeued: Int, unknown: Int) {
        let cutoff = now.addingTimeInterval(-configuration.reconcileAfter.intervalSeconds)
        let held = try await jobs.requeueStuck(claimedBefore: cutoff, limit: configuration.batchSize)
        let requeued = held.filter { !$0.attempted }.count
        if !held.isEmpty {
            logger.notice("recovered jobs left in sending", metadata: ["requeued": "\(requeued)", "unknown": "\(held.count - requeued)"])
        }
        return (requeued, held.count - requeued)
    }

    // MARK: `unknown` jobs

    /// What a lookup decided for one unknown job.
    public enum Settlement: Sendable, Equatable {
        /// The provider has the message: the job records its sid and status.
        case found(sid: String, status: String)
        /// The provider has no such message: the job is queued to be sent again.
        case resent
        /// The lookup failed; the job is tried again later.
        case lookupFailed
    }

    /// Looks up every `unknown` job whose last attempt is older than the
    /// reconcile delay (time for the status callback to settle it first),
    /// matching To, From, the day and the body, and skipping sids another job
    /// already holds. A match settles the job exactly as its status callback
    /// would (``JobTransaction/settle(jobID:report:policy:)``).
    @discardableResult
    public func settleUnknown(now: Date = Date()) async throws -> [String: Settlement] {
        guard let provider else { return [:] }
        let cutoff = now.addingTimeInterval(-configuration.reconcileAfter.intervalSeconds)
        let leased = try await jobs.leaseUnknown(attemptedBefore: cutoff, limit: configuration.batchSize, by: configuration.workerID)
        var results: [String: Settlement] = [:]
        for held in leased {
            let id = held.job.jobID
            let messages: [ProviderMessage]
            do {
                // Twilio filters by UTC day; a day earlier covers a clock skew across midnight.
                messages = try await provider.findMessages(
                    to: held.toPhone, from: held.fromPhone, since: (held.lastAttemptAt ?? now).addingTimeInterval(-86_400))
            } catch {
                logger.warning("lookup of an unknown send failed", metadata: ["job_id": "\(id)", "error": "\(error)"])
                results[id] = .lookupFailed
                continue
            }
            let candidates = messages.filter { $0.to == held.toPhone && $0.from == held.fromPhone && ($0.body == nil || $0.body == held.body) }
            let taken = try await postgres.query(
                "SELECT provider_sid FROM send_jobs WHERE provider_sid = ANY($1::text[])", candidates.map(\.sid)
            ).map { try $0.decode("provider_sid", as: String.self) }
            if let match = candidates.first(where: { !taken.contains($0.sid) }) {
                let settled = try await settle(jobID: id, with: match, from: provider)
                if settled.outcome == "applied", let status = settled.status {
                    results[id] = .found(sid: match.sid, status: status.rawValue)
                    logger.info("settled an unknown send: the provider has it", metadata: ["job_id": "\(id)", "status": "\(status.rawValue)"])
                }
                continue
            }
            if try await jobs.resend(held) {
                results[id] = .resent
                logger.notice("an unknown send never reached the provider: sending again", metadata: ["job_id": "\(id)"])
            }
        }
        return results
    }

    // MARK: `sent` jobs whose final report never came

    /// Looks up, paced (``Configuration/statusBatchSize`` per run), the `sent`
    /// jobs that have waited ``Configuration/statusReconcileAfter`` for their
    /// final status report, and settles each as the report would have (with
    /// `delivered_at`, a price, a suppression). A job the provider still has
    /// in progress is looked at again after another interval.
    /// - Returns: the settled jobs' new statuses by job id.
    @discardableResult
    public func settleUnsettledSent(now: Date = Date()) async throws -> [String: JobStatus] {
        guard let provider else { return [:] }
        let cutoff = now.addingTimeInterval(-configuration.statusReconcileAfter.intervalSeconds)
        let leased = try await jobs.leaseUnsettledSent(before: cutoff, limit: configuration.statusBatchSize)
        var settled: [String: JobStatus] = [:]
        for held in leased {
            guard let sid = held.providerSID else { continue }
            do {
                guard let message = try await provider.fetchMessage(sid: sid) else {
                    logger.warning("a sent job's message is unknown to the provider", metadata: ["job_id": "\(held.job.jobID)"])
                    continue
                }
                let result = try await settle(jobID: held.job.jobID, with: message, from: provider)
                if result.outcome == "applied", let status = result.status { settled[held.job.jobID] = status }
            } catch {
                logger.warning("status lookup of a sent job failed", metadata: ["job_id": "\(held.job.jobID)", "error": "\(error)"])
            }
        }
        if !settled.isEmpty { logger.notice("settled sent jobs whose status report never came", metadata: ["jobs": "\(settled.count)"]) }
        return settled
    }

    /// Settles a job from a looked-up message, as a status callback would.
    private func settle(jobID: String, with message: ProviderMessage, from provider: any MessagingProvider) async throws -> SettleResult {
        let report = provider.report(message)
        let policy = errorPolicy
        return try await jobs.transaction { tx in try tx.settle(jobID: jobID, report: report, policy: policy) }
    }

    // MARK: Redis lost its data

    /// Whether Redis lost its data since the queue was last restored, and if
    /// so, every pending job goes back: due jobs to their numbers' lists in
    /// order (oldest first), waiting jobs to `delayed` with their due time,
    /// parked jobs only where nothing pauses them any more. The loss is seen
    /// by a marker key the restore writes first; one worker restores (a lock),
    /// the others wait for the marker. A job that is in Redis twice afterwards
    /// (pushed by a launch meanwhile) is claimed once.
    ///
    /// Issue 11, defect 3: the lost-job sweep alone re-pushed 10,000 jobs per
    /// pass and only for numbers with an empty list, so after a wipe part of
    /// the queue waited until a number's list drained.
    /// - Returns: how many jobs were put back; nil when Redis had not lost anything.
    @discardableResult
    public func restoreAfterRedisLoss(now: Date = Date()) async throws -> Int? {
        guard try await queue.needsRestore(by: configuration.workerID) else { return nil }
        let started = ContinuousClock.now
        let pageSize = configuration.restorePageSize
        let (pages, throughputs) = try await postgres.withTransaction { connection -> ([[(QueuedJob, Int64?)]], [String: Double]) in
            // One pass over every pending job through a cursor: the sort happens
            // once, and each page is a FETCH, whatever the backlog.
            try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            try connection.query(
                """
                DECLARE pending_jobs NO SCROLL CURSOR FOR
                SELECT j.id::text, j.sending_number_id::text, j.segments, n.throughput_sps,
                       CASE WHEN j.next_attempt_at > now() THEN j.next_attempt_at END AS due
                FROM send_jobs j LEFT JOIN sending_numbers n ON n.id = j.sending_number_id
                WHERE j.status IN ('queued', 'deferred')
                   OR (j.status = 'parked'
                       AND \(Self.unpaused))
                ORDER BY j.created_at, j.id
                """)
            var pages: [[(QueuedJob, Int64?)]] = []
            var throughputs: [String: Double] = [:]
            while true {
                // FETCH takes no bind parameter; the page size is our own Int, never input.
                let rows = try connection.query("FETCH \(pageSize) FROM pending_jobs")
                if rows.isEmpty { break }
                pages.append(
                    try rows.map { row in
                        let job = QueuedJob(numberID: try row.decode(at: 1), jobID: try row.decode(at: 0), segments: try row.decode(at: 2))
                        if let pace: Double = try row.decodeIfPresent(at: 3) { throughputs[job.numberID] = pace }
                        return (job, try row.decodeIfPresent(at: 4, as: Date.self).map(SendQueue.milliseconds))
                    })
            }
            return (pages, throughputs)
        }
        var count = 0
        for page in pages {
            try await queue.push(inOrder: page.filter { $0.1 == nil }.map(\.0), throughputs: throughputs, atFront: false)
            try await queue.schedule(page.compactMap { job, due in due.map { (job, $0) } })
            count += page.count
        }
        try await queue.restored(by: configuration.workerID)
        if count > 0 {
            logger.warning(
                "Redis had lost the queue: pending jobs restored from PostgreSQL",
                metadata: ["jobs": "\(count)", "ms": "\((ContinuousClock.now - started).milliseconds)"])
        } else {
            // A new Redis (or one that had nothing pending): only the marker was missing.
            logger.info("send queue marker set; nothing was pending")
        }
        return count
    }

    // MARK: Jobs Redis lost

    /// Pushes again the pending jobs Redis no longer holds. Only numbers whose
    /// list is empty are examined (a non-empty list is still being worked, and
    /// what it lost surfaces once it drains); a job counts as lost when it has
    /// been left alone for `lostAfter` and is neither leased nor delayed.
    /// Parked jobs count too once nothing pauses them any more.
    /// - Returns: how many jobs were pushed again.
    @discardableResult
    public func sweepLost(now: Date = Date()) async throws -> Int {
        let cutoff = now.addingTimeInterval(-configuration.lostAfter.intervalSeconds)
        let numbers = try await postgres.query(
            "SELECT DISTINCT j.sending_number_id::text FROM send_jobs j WHERE " + Self.lostCandidate, cutoff
        ).map { try $0.decode(at: 0, as: String.self) }
        guard !numbers.isEmpty else { return 0 }
        let idle = try await queue.listLengths(numbers).filter { $0.value == 0 }.map(\.key)
        guard !idle.isEmpty else { return 0 }
        let rows = try await postgres.query(
            """
            SELECT j.id::text, j.sending_number_id::text, j.segments, n.throughput_sps
            FROM send_jobs j LEFT JOIN sending_numbers n ON n.id = j.sending_number_id
            WHERE j.sending_number_id = ANY($2::uuid[]) AND
            """ + Self.lostCandidate + " ORDER BY j.created_at LIMIT $3", cutoff, idle, configuration.batchSize * 50)
        let (candidates, throughputs) = try Self.jobsWithPace(rows)
        let held = try await queue.isHeld(candidates)
        let lost = zip(candidates, held).filter { !$0.1 }.map(\.0)
        try await queue.push(inOrder: lost, throughputs: throughputs, atFront: false)
        if !lost.isEmpty { logger.warning("re-pushed jobs Redis had lost", metadata: ["jobs": "\(lost.count)"]) }
        return lost.count
    }

    /// No kill switch (platform, tenant or campaign) covers job `j`: the one
    /// statement of it that the restore, the lost-job sweep and the wake share.
    /// (A park checks the opposite under share locks, `SendJobs.park`.)
    static let unpaused = """
        NOT EXISTS (SELECT 1 FROM platform_settings p WHERE p.paused_at IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id AND t.paused_at IS NOT NULL)
        AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = j.campaign_id AND k.status = 'paused')
        """

    /// Pending, untouched since `$1`, and not held back by a kill switch.
    static let lostCandidate = """
         (
            (j.status IN ('queued', 'deferred') AND COALESCE(j.next_attempt_at, j.updated_at) < $1)
            OR (j.status = 'parked' AND j.updated_at < $1
                AND \(unpaused))
        )
        """

    // MARK: Waking waiting jobs

    /// After a resume: parked jobs in the scope (nil = every tenant) that
    /// nothing pauses any more go back to the front of their numbers' lists,
    /// oldest first.
    /// - Returns: how many jobs were woken.
    @discardableResult
    public func wakeParked(tenantID: String?, campaignID: String? = nil) async throws -> Int {
        let rows = try await postgres.query(
            """
            SELECT j.id::text, j.sending_number_id::text, j.segments, n.throughput_sps
            FROM send_jobs j LEFT JOIN sending_numbers n ON n.id = j.sending_number_id
            WHERE j.status = 'parked' AND ($1::uuid IS NULL OR j.tenant_id = $1::uuid) AND ($2::uuid IS NULL OR j.campaign_id = $2::uuid)
              AND \(Self.unpaused)
            ORDER BY j.created_at
            """, tenantID, campaignID)
        let (jobs, throughputs) = try Self.jobsWithPace(rows)
        try await queue.push(inOrder: jobs, throughputs: throughputs, atFront: true)
        return jobs.count
    }

    /// After a budget cap was raised or removed: the tenant's budget-deferred
    /// jobs become due now instead of at the next period.
    @discardableResult
    public func wakeBudgetDeferred(tenantID: String) async throws -> Int {
        let rows = try await postgres.query(
            """
            SELECT id::text, sending_number_id::text, segments FROM send_jobs
            WHERE tenant_id = $1::uuid AND status = 'deferred' AND last_gate = 'budget'
            ORDER BY created_at
            """, tenantID)
        let jobs = try rows.map { QueuedJob(numberID: try $0.decode(at: 1), jobID: try $0.decode(at: 0), segments: try $0.decode(at: 2)) }
        return try await queue.expedite(jobs)
    }

    /// Rows of (id, sending_number_id, segments, throughput_sps) as jobs, and each number's pace.
    static func jobsWithPace(_ rows: PostgresRows) throws -> ([QueuedJob], [String: Double]) {
        var throughputs: [String: Double] = [:]
        let jobs = try rows.map { row in
            let job = QueuedJob(numberID: try row.decode(at: 1), jobID: try row.decode(at: 0), segments: try row.decode(at: 2))
            if let pace: Double = try row.decodeIfPresent(at: 3) { throughputs[job.numberID] = pace }
            return job
        }
        return (jobs, throughputs)
    }

}
