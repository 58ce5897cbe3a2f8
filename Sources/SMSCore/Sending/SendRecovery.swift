import Foundation
import Logging
import Postgres

/// The send path's repairs, run by every worker as periodic duties and safe to
/// run on many replicas at once (each takes its rows with `FOR UPDATE SKIP
/// LOCKED` and a short lease in `claimed_by`/`claimed_at`):
///
/// - ``recoverStuck(now:)``: jobs left in `sending` by a worker that died;
/// - ``settleUnknown(now:)``: sends that may or may not have reached Twilio,
///   settled by looking the message up, re-sent only when Twilio has none;
/// - ``sweepLost(now:)``: pending jobs Redis no longer holds (a restart
///   without persistence, a push that failed after the launch committed);
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
        /// How long a pending job must have been left alone before the sweep
        /// treats its absence from Redis as a loss.
        public var lostAfter: Duration = .seconds(120)
        /// Rows handled per duty run.
        public var batchSize = 200

        public init(workerID: String, reconcileAfter: Duration) {
            self.workerID = workerID
            self.reconcileAfter = reconcileAfter
        }
    }

    public let configuration: Configuration
    let postgres: PostgresClient
    let queue: SendQueue
    let twilio: TwilioClient?
    let logger: Logger

    /// `twilio` may be nil where no lookup is needed (the API wakes jobs only).
    public init(configuration: Configuration, postgres: PostgresClient, queue: SendQueue, twilio: TwilioClient?, logger: Logger) {
        self.configuration = configuration
        self.postgres = postgres
        self.queue = queue
        self.twilio = twilio
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
        let rows = try await postgres.withTransaction { connection in
            let rows = try connection.query(
                """
                WITH stuck AS (
                    SELECT id, reserved_cents AS held, reserved_daily_period, reserved_monthly_period,
                           last_attempt_at IS NOT NULL AND last_attempt_at >= claimed_at AS attempted
                    FROM send_jobs WHERE status = 'sending' AND claimed_at < $1
                    ORDER BY claimed_at LIMIT $2 FOR UPDATE SKIP LOCKED
                )
                UPDATE send_jobs j SET
                    status = CASE WHEN stuck.attempted THEN 'unknown' ELSE 'queued' END,
                    failure_reason = CASE WHEN stuck.attempted THEN 'the worker stopped while sending; to be looked up at Twilio'
                                          ELSE j.failure_reason END,
                    reserved_cents = CASE WHEN stuck.attempted THEN j.reserved_cents ELSE 0 END,
                    claimed_by = NULL, updated_at = now()
                FROM stuck WHERE j.id = stuck.id
                RETURNING j.id::text, j.tenant_id::text, j.sending_number_id::text, j.segments, stuck.attempted,
                          stuck.held, stuck.reserved_daily_period::text AS daily, stuck.reserved_monthly_period::text AS monthly
                """, cutoff, configuration.batchSize)
            for row in rows where !(try row.decode("attempted", as: Bool.self)) {
                let held: Decimal = try row.decode("held")
                guard held > 0, let daily: String = try row.decodeIfPresent("daily"), let monthly: String = try row.decodeIfPresent("monthly")
                else { continue }
                try BudgetLedger.release(connection, tenantID: try row.decode("tenant_id"), cents: held, dailyPeriod: daily, monthlyPeriod: monthly)
            }
            return rows
        }
        var requeue: [QueuedJob] = []
        for row in rows where !(try row.decode("attempted", as: Bool.self)) {
            requeue.append(QueuedJob(numberID: try row.decode("sending_number_id"), jobID: try row.decode("id"), segments: try row.decode("segments")))
        }
        try await queue.push(inOrder: requeue, atFront: true)
        if !rows.isEmpty {
            logger.notice("recovered jobs left in sending", metadata: ["requeued": "\(requeue.count)", "unknown": "\(rows.count - requeue.count)"])
        }
        return (requeue.count, rows.count - requeue.count)
    }

    // MARK: `unknown` jobs

    /// What a lookup decided for one unknown job.
    public enum Settlement: Sendable, Equatable {
        /// Twilio has the message: the job records its sid and status.
        case found(sid: String, status: String)
        /// Twilio has no such message: the job is queued to be sent again.
        case resent
        /// The lookup failed; the job is tried again later.
        case lookupFailed
    }

    /// Looks up at Twilio every `unknown` job whose last attempt is older than
    /// the reconcile delay (time for the status callback to settle it first),
    /// matching To, From, the day and the body, and skipping sids another job
    /// already holds.
    @discardableResult
    public func settleUnknown(now: Date = Date()) async throws -> [String: Settlement] {
        guard let twilio else { return [:] }
        let cutoff = now.addingTimeInterval(-configuration.reconcileAfter.intervalSeconds)
        let jobs = try await postgres.query(
            """
            WITH due AS (
                SELECT id FROM send_jobs
                WHERE status = 'unknown' AND last_attempt_at < $1 AND (claimed_at IS NULL OR claimed_at < $1)
                ORDER BY last_attempt_at LIMIT $2 FOR UPDATE SKIP LOCKED
            )
            UPDATE send_jobs j SET claimed_at = now(), claimed_by = $3
            FROM due WHERE j.id = due.id
            RETURNING j.id::text, j.tenant_id::text, j.sending_number_id::text, j.segments, j.to_phone, j.from_phone, j.body,
                      j.last_attempt_at
            """, cutoff, configuration.batchSize, "settle:\(configuration.workerID)")
        var results: [String: Settlement] = [:]
        for job in jobs {
            let id: String = try job.decode("id")
            let to: String = try job.decode("to_phone")
            let from: String = try job.decode("from_phone")
            let body: String = try job.decode("body")
            let attemptedAt: Date = try job.decode("last_attempt_at")
            let messages: [TwilioMessage]
            do {
                // Twilio filters by UTC day; a day earlier covers a clock skew across midnight.
                messages = try await twilio.findMessages(to: to, from: from, since: attemptedAt.addingTimeInterval(-86_400))
            } catch {
                logger.warning("lookup of an unknown send failed", metadata: ["job_id": "\(id)", "error": "\(error)"])
                results[id] = .lookupFailed
                continue
            }
            let candidates = messages.filter { $0.to == to && $0.from == from && ($0.body == nil || $0.body == body) }
            let taken = try await postgres.query(
                "SELECT provider_sid FROM send_jobs WHERE provider_sid = ANY($1::text[])", candidates.map(\.sid)
            ).map { try $0.decode("provider_sid", as: String.self) }
            if let match = candidates.first(where: { !taken.contains($0.sid) }) {
                let status = Self.jobStatus(forTwilio: match.status)
                let updated = try await postgres.query(
                    """
                    UPDATE send_jobs SET status = $2, provider_sid = $3, provider_status = $4, error_code = $5,
                        sent_at = COALESCE(sent_at, last_attempt_at), failure_reason = NULL, claimed_by = NULL, updated_at = now()
                    WHERE id = $1::uuid AND status = 'unknown' AND provider_sid IS NULL
                    RETURNING id
                    """, id, status, match.sid, match.status, match.errorCode)
                if !updated.isEmpty {
                    results[id] = .found(sid: match.sid, status: status)
                    logger.info("settled an unknown send: Twilio has it", metadata: ["job_id": "\(id)", "status": "\(status)"])
                }
                continue
            }
            // Twilio never created it: release the reservation and send it again.
            let requeued = try await postgres.withTransaction { connection in
                let rows = try connection.query(
                    """
                    WITH old AS (
                        SELECT id, reserved_cents AS held, reserved_daily_period, reserved_monthly_period
                        FROM send_jobs WHERE id = $1::uuid AND status = 'unknown' FOR UPDATE
                    )
                    UPDATE send_jobs j SET status = 'queued', reserved_cents = 0, next_attempt_at = NULL, claimed_by = NULL,
                        failure_reason = 'Twilio has no such message; sending again', updated_at = now()
                    FROM old WHERE j.id = old.id
                    RETURNING old.held, old.reserved_daily_period::text AS daily, old.reserved_monthly_period::text AS monthly
                    """, id)
                guard let row = rows.first else { return false }
                let held: Decimal = try row.decode("held")
                if held > 0, let daily: String = try row.decodeIfPresent("daily"), let monthly: String = try row.decodeIfPresent("monthly") {
                    try BudgetLedger.release(connection, tenantID: try job.decode("tenant_id"), cents: held, dailyPeriod: daily, monthlyPeriod: monthly)
                }
                return true
            }
            if requeued {
                let queued = QueuedJob(numberID: try job.decode("sending_number_id"), jobID: id, segments: try job.decode("segments"))
                try await queue.push(inOrder: [queued], atFront: true)
                results[id] = .resent
                logger.notice("an unknown send never reached Twilio: sending again", metadata: ["job_id": "\(id)"])
            }
        }
        return results
    }

    /// The `send_jobs.status` a Twilio message status means for a job that was handed over.
    public static func jobStatus(forTwilio status: String) -> String {
        switch status {
        case "delivered", "read": "delivered"
        case "undelivered": "undelivered"
        case "failed", "canceled": "failed"
        default: "sent"
        }
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

    /// Pending, untouched since `$1`, and not held back by a kill switch.
    static let lostCandidate = """
         (
            (j.status IN ('queued', 'deferred') AND COALESCE(j.next_attempt_at, j.updated_at) < $1)
            OR (j.status = 'parked' AND j.updated_at < $1
                AND NOT EXISTS (SELECT 1 FROM platform_settings p WHERE p.paused_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id AND t.paused_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = j.campaign_id AND k.status = 'paused'))
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
              AND NOT EXISTS (SELECT 1 FROM platform_settings p WHERE p.paused_at IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM tenants t WHERE t.id = j.tenant_id AND t.paused_at IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM campaigns k WHERE k.id = j.campaign_id AND k.status = 'paused')
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
