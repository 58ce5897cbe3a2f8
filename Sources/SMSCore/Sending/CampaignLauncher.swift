import Foundation
import Logging
import Synchronization
import Postgres

/// Why a launch was refused.
public enum LaunchError: Error, Sendable, Equatable {
    case notFound
    case wrongStatus(CampaignStatus)
    case noLists
    case noActiveNumbers
}

/// What a launch did.
public struct LaunchResult: Sendable, Encodable, Equatable {
    /// Jobs this launch created; 0 on a relaunch with no new recipients.
    public var jobsCreated: Int
    /// Jobs pushed to the Redis queue (may be fewer than created if Redis was
    /// unavailable; the lost-job sweep pushes the rest).
    public var jobsQueued: Int
}

/// Launches a campaign: one `send_jobs` row per eligible recipient, then their
/// ids into the paced queue.
///
/// Bodies are rendered and measured in Swift (the same `CampaignMessage` and
/// `MessageSegments` code the preview uses) by a reader connection, chunk by
/// chunk; a writer connection streams each chunk with COPY into a temporary
/// table and turns it into jobs with one
/// `INSERT … SELECT … ON CONFLICT (contact_id, campaign_id) DO NOTHING`, so a
/// relaunch adds only recipients who joined since. Every write happens in the
/// writer's one transaction: a failed launch leaves nothing behind.
public struct CampaignLauncher: Sendable {
    let postgres: PostgresClient
    let queue: SendQueue
    let prices: PriceTable
    /// Contacts read per round trip while rendering.
    public var chunkSize = 50_000
    /// Where the launch's phase timings go (info level), when set.
    public var logger: Logger?

    public init(postgres: PostgresClient, queue: SendQueue, prices: PriceTable = .standard) {
        self.postgres = postgres
        self.queue = queue
        self.prices = prices
    }

    struct Number: Sendable {
        var id: String
        var phone: String
        var throughput: Double
    }

    /// Launches now (the API's `POST …/launch`): draft, scheduled, running or completed
    /// campaigns; `scheduledDueBy` restricts it to a scheduled campaign whose
    /// time has come (the worker's scheduled-launch duty).
    public func launch(tenantID: String, campaignID: String, audit: AuditEntry, scheduledDueBy: Date? = nil) async throws -> LaunchResult {
        let chunkSize = self.chunkSize
        let prices = self.prices
        let clock = ContinuousClock()
        let started = clock.now
        let phases = PhaseTimes()
        let ids = LaunchIDs(milliseconds: Int64(Date().timeIntervalSince1970 * 1000))
        // Two connections work at once: the reader streams the audience and renders
        // it on every core while the writer copies and inserts the chunks before
        // (1,000,000 recipients: 12.7 s one after the other). The writer's
        // transaction holds the campaign row and does every write; the reader only
        // reads, from a snapshot taken once the writer holds that lock.
        let start = LaunchHandOff<LaunchRenderer>(capacity: 1)
        let chunks = LaunchHandOff<LaunchRenderer.Chunk>(capacity: 2)
        let postgres = self.postgres
        async let reading: Void = {
            do {
                try await postgres.withConnection { reader in
                    guard let renderer = try start.receive() else { return }
                    try Self.read(reader, renderer: renderer, tenantID: tenantID, campaignID: campaignID, chunkSize: chunkSize, into: chunks)
                    chunks.finish()
                }
            } catch {
                // Including no connection for the reader: the writer must not wait for chunks.
                chunks.finish(throwing: error)
            }
        }()
        let launched: (numbers: [Number], jobs: [StagedJob])
        do {
            launched = try await postgres.withTransaction { connection in
                let renderer = try Self.lockCampaign(
                    connection, tenantID: tenantID, campaignID: campaignID, scheduledDueBy: scheduledDueBy, prices: prices, ids: ids)
                try start.send(renderer)
                start.finish()
                let jobs = try Self.write(connection, from: chunks, tenantID: tenantID, campaignID: campaignID, ids: ids, phases: phases)
                try connection.query(
                    """
                    UPDATE campaigns SET status = 'running', launched_at = COALESCE(launched_at, now()), completed_at = NULL, updated_at = now()
                    WHERE tenant_id = $1::uuid AND id = $2::uuid
                    """, tenantID, campaignID)
                var audit = audit
                audit.details["jobs_created"] = String(jobs.count)
                try AuditLog.record(audit, on: connection)
                return (renderer.numbers, jobs)
            }
        } catch {
            // Whatever stopped the writer stops the reader too.
            start.finish()
            chunks.cancel()
            await reading
            throw error
        }
        await reading
        phases.add("commit")
        // PostgreSQL has the jobs; Redis only says what to do next. If a push
        // fails, the lost-job sweep re-pushes what is still queued.
        let pushed = await push(launched.jobs, numbers: launched.numbers, ids: ids)
        phases.add("push")
        logger?.info(
            "campaign launched",
            metadata: [
                "tenant_id": "\(tenantID)", "campaign_id": "\(campaignID)", "jobs": "\(launched.jobs.count)",
                "total_ms": "\((clock.now - started).milliseconds)", "phases_ms": "\(phases.summary)",
            ])
        return LaunchResult(jobsCreated: launched.jobs.count, jobsQueued: pushed)
    }

    /// Locks the campaign row for the launch, checks it may launch, and reads
    /// what rendering needs.
    private static func lockCampaign(
        _ connection: PostgresConnection, tenantID: String, campaignID: String, scheduledDueBy: Date?, prices: PriceTable, ids: LaunchIDs
    ) throws -> LaunchRenderer {
        let rows = try connection.query(
            """
            SELECT c.status, c.body_template, t.opt_out_footer, c.scheduled_at,
                   EXISTS (SELECT 1 FROM campaign_lists l WHERE l.campaign_id = c.id) AS has_lists
            FROM campaigns c JOIN tenants t ON t.id = c.tenant_id
            WHERE c.tenant_id = $1::uuid AND c.id = $2::uuid FOR UPDATE OF c
            """, tenantID, campaignID)
        guard let campaign = rows.first else { throw LaunchError.notFound }
        let status = CampaignStatus(rawValue: try campaign.decode("status")) ?? .draft
        // A completed campaign launched again runs for the recipients added since.
        guard [.draft, .scheduled, .running, .completed].contains(status) else { throw LaunchError.wrongStatus(status) }
        if let due = scheduledDueBy {
            // Another worker may have launched it while this one waited for the row lock.
            guard status == .scheduled, let at: Date = try campaign.decodeIfPresent("scheduled_at"), at <= due else {
                throw LaunchError.wrongStatus(status)
            }
        }
        guard try campaign.decode("has_lists", as: Bool.self) else { throw LaunchError.noLists }
        let renderer = LaunchRenderer(
            template: try MessageTemplate(try campaign.decode("body_template"), allowedPlaceholders: MessageTemplate.standardPlaceholders),
            footer: try campaign.decodeIfPresent("opt_out_footer"),
            numbers: try connection.query(
                """
                SELECT n.id::text, n.phone_e164, n.throughput_sps FROM campaign_sending_numbers cn
                JOIN sending_numbers n ON n.tenant_id = cn.tenant_id AND n.id = cn.sending_number_id
                WHERE cn.tenant_id = $1::uuid AND cn.campaign_id = $2::uuid AND n.active
                ORDER BY n.id
                """, tenantID, campaignID
            ).map { Number(id: try $0.decode("id"), phone: try $0.decode("phone_e164"), throughput: try $0.decode("throughput_sps")) },
            prices: prices, ids: ids)
        guard !renderer.numbers.isEmpty else { throw LaunchError.noActiveNumbers }
        return renderer
    }

    /// The reader: one pass over the audience through a cursor, in contact
    /// order, rendered chunk by chunk. Contacts that already have a job in
    /// this campaign are skipped, so a relaunch renders nothing.
    private static func read(
        _ connection: PostgresConnection, renderer: LaunchRenderer, tenantID: String, campaignID: String, chunkSize: Int,
        into chunks: LaunchHandOff<LaunchRenderer.Chunk>
    ) throws {
        try connection.withTransaction { connection in
            try connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            // The whole audience is read: plan for all rows (not the cursor's
            // fast-start default) and with hash joins. Right after a bulk load the
            // statistics still say a tenant has a handful of contacts, and the
            // nested loops chosen on that basis took minutes for 100,000
            // recipients. Sorting and hashing a million contacts in memory rather
            // than on disk, and no JIT: disabling nested loops inflates the plan's
            // cost past the JIT thresholds, and compiling with inlining cost more
            // than it saved (1.44 s against 1.29 s for 1,000,000).
            try connection.query("SET LOCAL cursor_tuple_fraction = 1.0")
            try connection.query("SET LOCAL enable_nestloop = off")
            try connection.query("SET LOCAL work_mem = '256MB'")
            try connection.query("SET LOCAL jit = off")
            try connection.query(
                "DECLARE launch_audience NO SCROLL CURSOR FOR "
                    + CampaignInsights.audience + """
                    SELECT a.id::text, a.phone_e164, a.first_name, a.last_name, a.email, a.attributes FROM audience a
                    WHERE a.excluded IS NULL
                      AND NOT EXISTS (SELECT 1 FROM send_jobs j WHERE j.contact_id = a.id AND j.campaign_id = $2::uuid)
                    """, tenantID, campaignID)
            var sequence = 1
            while true {
                // FETCH takes no bind parameter; chunkSize is our own Int, never input.
                let audience = try connection.query("FETCH \(chunkSize) FROM launch_audience")
                if audience.isEmpty { break }
                let chunk = try renderer.render(audience, firstSequence: sequence)
                sequence += audience.count
                try chunks.send(chunk)
                if audience.count < chunkSize { break }
            }
            try connection.query("CLOSE launch_audience")
        }
    }

    /// The writer: each chunk is copied into a staging table and inserted with
    /// one `INSERT … SELECT … ON CONFLICT (contact_id, campaign_id) DO NOTHING`,
    /// in the launch's transaction. Chunks come in contact order with ids that
    /// grow in that order, so both the primary key and the (contact, campaign)
    /// index grow at one place instead of taking a million random page writes
    /// (19.6 of a 29.7 s launch with random ids).
    /// - Returns: the jobs inserted.
    private static func write(
        _ connection: PostgresConnection, from chunks: LaunchHandOff<LaunchRenderer.Chunk>, tenantID: String, campaignID: String,
        ids: LaunchIDs, phases: PhaseTimes
    ) throws -> [StagedJob] {
        try connection.query(
            """
            CREATE TEMP TABLE launch_staging (
                id uuid, contact_id uuid, sending_number_id uuid, to_phone text, from_phone text, body text,
                encoding text, segments smallint, estimated_cost_cents numeric(12,4)
            ) ON COMMIT DROP
            """)
        var jobs: [StagedJob] = []
        phases.add("prepare")
        while let chunk = try chunks.receive() {
            phases.add("wait_for_reader")
            try connection.copyFrom(
                """
                COPY launch_staging (id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                                     estimated_cost_cents) FROM STDIN
                """
            ) { send in
                for part in chunk.copyText { try send(part) }
            }
            phases.add("copy")
            let inserted = try SendJobs.createLaunched(connection, fromStaging: "launch_staging", tenantID: tenantID, campaignID: campaignID)
            var staged = chunk.jobs
            if inserted < staged.count {
                // The reader skipped contacts that already had a job, from a snapshot
                // taken under the campaign's row lock, so this does not happen; if it
                // ever does, the jobs that were not inserted must not be pushed.
                let skipped = Set(
                    try connection.query(
                        "SELECT s.id::text FROM launch_staging s WHERE NOT EXISTS (SELECT 1 FROM send_jobs j WHERE j.id = s.id)"
                    ).map { try $0.decode(at: 0, as: String.self) })
                staged.removeAll { skipped.contains(ids.id($0.sequence)) }
            }
            jobs += staged
            try connection.query("TRUNCATE launch_staging")
            phases.add("insert")
        }
        return jobs
    }

    /// Pushes each number's jobs in contact order, a batch per script call; the
    /// numbers go at once, so one number's ids are formatted while Redis runs
    /// another's script.
    private func push(_ jobs: [StagedJob], numbers: [Number], ids: LaunchIDs) async -> Int {
        let queue = self.queue
        return await withTaskGroup(of: Int.self) { group in
            for (index, number) in numbers.enumerated() {
                group.addTask {
                    var pushed = 0
                    var batch: [QueuedJob] = []
                    batch.reserveCapacity(SendQueue.pushBatch)
                    do {
                        for job in jobs where Int(job.numberIndex) == index {
                            batch.append(QueuedJob(numberID: number.id, jobID: ids.id(job.sequence), segments: Int(job.segments)))
                            if batch.count == SendQueue.pushBatch {
                                try await queue.push(batch, numberID: number.id, segmentsPerSecond: number.throughput)
                                pushed += batch.count
                                batch.removeAll(keepingCapacity: true)
                            }
                        }
                        try await queue.push(batch, numberID: number.id, segmentsPerSecond: number.throughput)
                        pushed += batch.count
                    } catch {
                        // The lost-job sweep pushes the rest of this number's jobs.
                    }
                    return pushed
                }
            }
            return await group.reduce(0, +)
        }
    }
}

/// A bounded hand-off between two threads that block (the launch's reader and
/// writer each run on a connection's pool thread). `receive` returns nil once
/// the sender finished, or throws the error it finished with; `cancel` makes a
/// blocked or later `send` throw, so a failed receiver stops the sender.
final class LaunchHandOff<Item: Sendable>: Sendable {
    struct Cancelled: Error {}

    private struct State {
        var items: [Item] = []
        var finished = false
        var failure: (any Error)?
        var cancelled = false
    }

    private let state = Mutex(State())
    private let available = DispatchSemaphore(value: 0)
    private let space = DispatchSemaphore(value: 0)

    init(capacity: Int) {
        // Created at 0 and raised by hand: libdispatch traps when a semaphore is
        // freed below the value it was created with, which a failed launch leaves.
        for _ in 0..<capacity { space.signal() }
    }

    func send(_ item: Item) throws {
        space.wait()
        try state.withLock { state in
            if state.cancelled { throw Cancelled() }
            state.items.append(item)
        }
        available.signal()
    }

    /// No more items; `throwing` is what `receive` throws once the items sent are taken.
    func finish(throwing failure: (any Error)? = nil) {
        let first = state.withLock { state in
            defer { state.finished = true }
            if state.failure == nil { state.failure = failure }
            return !state.finished
        }
        if first { available.signal() }
    }

    func receive() throws -> Item? {
        available.wait()
        let next: Result<Item?, any Error> = state.withLock { state in
            if !state.items.isEmpty { return .success(state.items.removeFirst()) }
            if let failure = state.failure { return .failure(failure) }
            return .success(nil)
        }
        if case .success(.some) = next {
            space.signal()
        } else {
            available.signal()  // finished: every later receive returns (or throws) at once too
        }
        return try next.get()
    }

    func cancel() {
        state.withLock { $0.cancelled = true }
        space.signal()
    }
}

/// A launch's job ids: time-ordered, in UUIDv7's layout. The launch's
/// millisecond, then random bits for this launch, then the job's sequence
/// number in contact order.
struct LaunchIDs: Sendable {
    /// The first 20 hex digits, dashes included: `tttttttt-tttt-7rrr-vrrr-`.
    let prefix: String

    init(milliseconds: Int64) {
        let time = String(UInt64(milliseconds) & 0xffff_ffff_ffff, radix: 16).leftPadded(to: 12)
        // 3 random hex digits, the variant nibble (8-b), 3 more.
        let random = String(UInt32.random(in: 0..<(1 << 24)), radix: 16).leftPadded(to: 6)
        let variant = ["8", "9", "a", "b"][Int.random(in: 0..<4)]
        prefix = "\(time.prefix(8))-\(time.suffix(4))-7\(random.prefix(3))-\(variant)\(random.suffix(3))-"
    }

    func id(_ sequence: Int) -> String { prefix + String(sequence, radix: 16).leftPadded(to: 12) }
}

/// One staged job, compactly: its id is ``LaunchIDs/id(_:)`` of `sequence`,
/// its number the campaign's `numberIndex`th.
struct StagedJob: Sendable {
    var sequence: Int
    var numberIndex: UInt16
    var segments: UInt16
}

/// Renders audience rows into COPY text for `launch_staging`, on every core.
struct LaunchRenderer: Sendable {
    let template: MessageTemplate
    let footer: String?
    let numbers: [CampaignLauncher.Number]
    let prices: PriceTable
    let ids: LaunchIDs

    struct Chunk: Sendable {
        var copyText: [[UInt8]]
        var jobs: [StagedJob]
    }

    /// Rows are `id, phone_e164, first_name, last_name, email, attributes`; the
    /// first row gets `firstSequence`, the next one more, and so on.
    func render(_ rows: PostgresRows, firstSequence: Int) throws -> Chunk {
        let parts = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows.count / 1_000))
        let size = (rows.count + parts - 1) / parts
        let results = Mutex<[Result<Chunk, any Error>?]>(Array(repeating: nil, count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let range = min(rows.count, part * size)..<min(rows.count, (part + 1) * size)
            let result = Result { try renderPart(rows[range], firstSequence: firstSequence + range.lowerBound) }
            results.withLock { $0[part] = result }
        }
        var chunk = Chunk(copyText: [], jobs: [])
        chunk.jobs.reserveCapacity(rows.count)
        for result in results.withLock({ $0 }) {
            guard let part = try result?.get() else { continue }
            chunk.copyText += part.copyText
            chunk.jobs += part.jobs
        }
        return chunk
    }

    private func renderPart(_ rows: PostgresRows.SubSequence, firstSequence: Int) throws -> Chunk {
        var text: [UInt8] = []
        text.reserveCapacity(rows.count * 200)
        var jobs: [StagedJob] = []
        jobs.reserveCapacity(rows.count)
        let readsAttributes = template.readsAttributes
        for (offset, row) in rows.enumerated() {
            let sequence = firstSequence + offset
            let contactID: String = try row.decode(at: 0)
            let phone: String = try row.decode(at: 1)
            let values = CampaignMessage.values(
                phone: phone, firstName: try row.decodeIfPresent(at: 2), lastName: try row.decodeIfPresent(at: 3),
                email: try row.decodeIfPresent(at: 4), attributesJSON: readsAttributes ? try row.decode(at: 5) : nil)
            let body = CampaignMessage.render(template: template, contact: values, footer: footer)
            let measure = MessageSegments.calculate(body)
            let numberIndex = StickyNumber.index(contactID: contactID, count: numbers.count)
            let number = numbers[numberIndex]
            PostgresCopyText.append(
                row: [
                    ids.id(sequence), contactID, number.id, phone, number.phone, body, measure.encoding.rawValue,
                    String(measure.segments), "\(prices.estimate(segments: measure.segments, toE164: phone))",
                ], to: &text)
            jobs.append(StagedJob(sequence: sequence, numberIndex: UInt16(numberIndex), segments: UInt16(measure.segments)))
        }
        return Chunk(copyText: [text], jobs: jobs)
    }
}

/// Wall time between marks, summed per phase, for the launch's log line.
final class PhaseTimes: Sendable {
    private let state = Mutex<(last: ContinuousClock.Instant, phases: [(String, Int64)])>((ContinuousClock.now, []))

    /// Adds the time since the previous mark to `name`'s total.
    func add(_ name: String) {
        state.withLock { state in
            let now = ContinuousClock.now
            let elapsed = (now - state.last).milliseconds
            state.last = now
            if let index = state.phases.firstIndex(where: { $0.0 == name }) {
                state.phases[index].1 += elapsed
            } else {
                state.phases.append((name, elapsed))
            }
        }
    }

    var summary: String { state.withLock { $0.phases.map { "\($0.0)=\($0.1)" }.joined(separator: " ") } }
}

extension CampaignLauncher {
    /// The scheduled-launch duty: launches every scheduled campaign whose
    /// `scheduled_at` has come. Safe on many workers at once: the launch locks
    /// the campaign row and re-checks that it is still scheduled and due, so
    /// the second worker finds it running and does nothing.
    /// - Returns: the campaigns launched, with their results.
    public func launchDue(now: Date = Date(), logger: Logger) async throws -> [String: LaunchResult] {
        let due = try await postgres.query(
            """
            SELECT tenant_id::text, id::text FROM campaigns WHERE status = 'scheduled' AND scheduled_at <= $1
            ORDER BY scheduled_at LIMIT 20
            """, now)
        var launched: [String: LaunchResult] = [:]
        for row in due {
            let tenantID: String = try row.decode(at: 0)
            let campaignID: String = try row.decode(at: 1)
            do {
                launched[campaignID] = try await launch(
                    tenantID: tenantID, campaignID: campaignID,
                    audit: AuditEntry(
                        tenantID: tenantID, actor: .system, action: "campaign.launch", targetType: "campaign", targetID: campaignID,
                        details: ["trigger": "schedule"]),
                    scheduledDueBy: now)
                logger.info("launched a scheduled campaign", metadata: ["tenant_id": "\(tenantID)", "campaign_id": "\(campaignID)"])
            } catch LaunchError.wrongStatus {
                continue  // launched, paused or cancelled meanwhile
            } catch let error as LaunchError {
                // Nothing to send yet (no lists or no active number): it stays scheduled
                // and is tried again, so fixing the campaign is enough.
                logger.warning(
                    "a scheduled campaign cannot launch", metadata: ["campaign_id": "\(campaignID)", "reason": "\(error)"])
            }
        }
        return launched
    }
}

/// Picks a contact's sending number from a campaign's numbers, the same one
/// every time for the same set of numbers, so a recipient keeps seeing one
/// sender (and replies route back to one conversation).
enum StickyNumber {
    static func index(contactID: String, count: Int) -> Int {
        // FNV-1a: stable across processes and restarts, unlike Hasher.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in contactID.lowercased().utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return Int(hash % UInt64(count))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
