import Foundation
import Redis

/// A job leased from the queue: which number sends it, which row, how many
/// segments (for pacing).
public struct QueuedJob: Sendable, Equatable {
    public var numberID: String
    public var jobID: String
    public var segments: Int

    public init(numberID: String, jobID: String, segments: Int) {
        self.numberID = numberID
        self.jobID = jobID
        self.segments = segments
    }

    /// How the job appears in `active`, `delayed` and `dead`.
    var member: String { "\(numberID)|\(jobID)|\(segments)" }
    /// How the job appears in a number's list.
    var item: String { "\(jobID):\(segments)" }
}

/// What a pop found.
public enum QueuePop: Sendable, Equatable {
    case job(QueuedJob)
    /// Work exists but no number may send before this many milliseconds pass.
    case wait(milliseconds: Int)
    case empty
}

/// The paced Redis send queue (docs/ARCHITECTURE.md, "The send path, step by step", step 2).
///
/// One list per sending number holds its jobs; `ready` scores each number with
/// work by the time it may send next, and a pop advances that score by the
/// job's segments ÷ the number's throughput, so every number is paced at its
/// own carrier limit and a big campaign on one tenant's numbers never holds up
/// another tenant's. PostgreSQL stays the truth: the queue only says what to
/// look at next, and a job id popped twice is claimed once in PostgreSQL.
public struct SendQueue: Sendable {
    let redis: RedisClient
    /// `smscrm:{send}` by default; tests use their own prefix (keeping the hash tag).
    public let namespace: String
    /// How long a consumer may hold a job before the reaper hands it out again.
    public var lease: Duration = .seconds(60)

    public init(redis: RedisClient, namespace: String = "smscrm:{send}") {
        self.redis = redis
        self.namespace = namespace
    }

    var ready: String { "\(namespace):ready" }
    var active: String { "\(namespace):active" }
    var delayed: String { "\(namespace):delayed" }
    var dead: String { "\(namespace):dead" }
    var throughput: String { "\(namespace):throughput" }
    var pace: String { "\(namespace):pace" }
    var queuePrefix: String { "\(namespace):q:" }
    /// "ok" while Redis holds what PostgreSQL says is pending; missing after Redis lost its data.
    var restoreMarker: String { "\(namespace):restored" }
    var restoreLock: String { "\(namespace):restoring" }

    /// Jobs per push script call.
    public static let pushBatch = 5_000

    /// Appends jobs for one number (at the back, or at the front for jobs that
    /// were parked and must keep their place), recording its throughput.
    @discardableResult
    public func push(_ jobs: [QueuedJob], numberID: String, segmentsPerSecond: Double?, atFront: Bool = false, now: Date = Date()) async throws -> Int {
        guard !jobs.isEmpty else { return 0 }
        var depth = 0
        // Batches keep each script call short; Redis runs scripts one at a time.
        for start in stride(from: 0, to: jobs.count, by: Self.pushBatch) {
            let batch = jobs[start..<min(start + Self.pushBatch, jobs.count)]
            let arguments = [
                queuePrefix, String(Self.milliseconds(now)), numberID, segmentsPerSecond.map { String($0) } ?? "", atFront ? "1" : "0",
            ] + batch.map(\.item)
            depth = try await redis.run(SendQueueScripts.push, keys: [ready, throughput, pace], arguments: arguments).int ?? 0
        }
        return depth
    }

    /// Pushes jobs of any numbers, number by number, keeping their order within
    /// each number (a number's pace is recorded when `throughputs` has it).
    public func push(inOrder jobs: [QueuedJob], throughputs: [String: Double] = [:], atFront: Bool) async throws {
        var order: [String] = []
        var byNumber: [String: [QueuedJob]] = [:]
        for job in jobs {
            if byNumber[job.numberID] == nil { order.append(job.numberID) }
            byNumber[job.numberID, default: []].append(job)
        }
        for number in order {
            try await push(byNumber[number] ?? [], numberID: number, segmentsPerSecond: throughputs[number], atFront: atFront)
        }
    }

    /// Leases the next job whose number may send now.
    public func pop(now: Date = Date()) async throws -> QueuePop {
        let reply = try await redis.run(
            SendQueueScripts.pop, keys: [ready, active, throughput, pace],
            arguments: [queuePrefix, String(Self.milliseconds(now)), String(lease.components.seconds * 1000)])
        guard let parts = reply.array, let kind = parts.first?.string else { return .empty }
        switch kind {
        case "job":
            guard parts.count == 4, let number = parts[1].string, let job = parts[2].string, let segments = parts[3].int else {
                return .empty
            }
            return .job(QueuedJob(numberID: number, jobID: job, segments: segments))
        case "wait":
            return .wait(milliseconds: max(1, parts.count > 1 ? parts[1].int ?? 1 : 1))
        default:
            return .empty
        }
    }

    /// The job is finished (sent, failed, blocked…): drop its lease.
    @discardableResult
    public func complete(_ job: QueuedJob) async throws -> Bool {
        try await settle(job, "done", due: nil)
    }

    /// The job waits until `until` (quiet hours, budget, warmup, retry backoff, kill switch).
    @discardableResult
    public func delay(_ job: QueuedJob, until: Date) async throws -> Bool {
        try await settle(job, "delay", due: until)
    }

    /// The job used up its attempts.
    @discardableResult
    public func bury(_ job: QueuedJob) async throws -> Bool {
        try await settle(job, "dead", due: nil)
    }

    /// Moves delayed jobs that are due back to the front of their lists.
    @discardableResult
    public func promoteDue(now: Date = Date(), limit: Int = 1_000) async throws -> Int {
        try await requeue(from: delayed, now: now, limit: limit)
    }

    /// Hands out again the jobs whose consumer died holding them.
    @discardableResult
    public func reapExpiredLeases(now: Date = Date(), limit: Int = 1_000) async throws -> Int {
        try await requeue(from: active, now: now, limit: limit)
    }

    /// Jobs waiting in lists, leased, delayed and dead: the queue depth for
    /// health, metrics and the runbook.
    public func depth() async throws -> (queued: Int, active: Int, delayed: Int, dead: Int) {
        let numbers = try await redis.command("ZRANGE", ready, 0, -1).array?.compactMap(\.string) ?? []
        var commands = numbers.map { RedisCommand("LLEN", queuePrefix + $0) }
        commands += [RedisCommand("ZCARD", active), RedisCommand("ZCARD", delayed), RedisCommand("LLEN", dead)]
        let replies = try await redis.pipeline(commands)
        let queued = replies.prefix(numbers.count).compactMap(\.int).reduce(0, +)
        let tail = replies.suffix(3).map { $0.int ?? 0 }
        return (queued, tail[0], tail[1], tail[2])
    }

    /// Makes delayed jobs due now, keeping their order (budget-deferred jobs
    /// after a cap is raised); the next promotion puts them back in their lists.
    /// - Returns: how many were found in `delayed`.
    @discardableResult
    public func expedite(_ jobs: [QueuedJob], now: Date = Date()) async throws -> Int {
        var found = 0
        for start in stride(from: 0, to: jobs.count, by: 5_000) {
            let batch = jobs[start..<min(start + 5_000, jobs.count)]
            found += try await redis.run(
                SendQueueScripts.expedite, keys: [delayed], arguments: [String(Self.milliseconds(now))] + batch.map(\.member)
            ).int ?? 0
        }
        return found
    }

    /// How many jobs wait in each number's list.
    public func listLengths(_ numberIDs: [String]) async throws -> [String: Int] {
        guard !numberIDs.isEmpty else { return [:] }
        let replies = try await redis.pipeline(numberIDs.map { RedisCommand("LLEN", queuePrefix + $0) })
        return Dictionary(uniqueKeysWithValues: zip(numberIDs, replies.map { $0.int ?? 0 }))
    }

    /// Whether each job is leased (`active`) or waiting for its time (`delayed`).
    public func isHeld(_ jobs: [QueuedJob]) async throws -> [Bool] {
        guard !jobs.isEmpty else { return [] }
        let replies = try await redis.pipeline(
            jobs.flatMap { [RedisCommand("ZSCORE", active, $0.member), RedisCommand("ZSCORE", delayed, $0.member)] })
        return stride(from: 0, to: replies.count, by: 2).map { !replies[$0].isNull || !replies[$0 + 1].isNull }
    }

    /// Jobs waiting in each number's list, for numbers that have work.
    public func numberDepths() async throws -> [String: Int] {
        let numbers = try await redis.command("ZRANGE", ready, 0, -1).array?.compactMap(\.string) ?? []
        return try await listLengths(numbers)
    }

    /// Takes jobs out of the dead list (retried or purged).
    public func removeDead(_ jobs: [QueuedJob]) async throws {
        guard !jobs.isEmpty else { return }
        _ = try await redis.pipeline(jobs.map { RedisCommand("LREM", dead, 0, $0.member) })
    }

    /// Puts jobs in `delayed` with their due times (ms since 1970), whatever
    /// their lease: how a restore puts back jobs that wait for a time.
    public func schedule(_ jobs: [(QueuedJob, Int64)]) async throws {
        for start in stride(from: 0, to: jobs.count, by: Self.pushBatch) {
            let batch = jobs[start..<min(start + Self.pushBatch, jobs.count)]
            var arguments: [any RedisArgument] = [delayed]
            for (job, due) in batch { arguments += [String(due), job.member] }
            _ = try await redis.pipeline([RedisCommand("ZADD", arguments)])
        }
    }

    /// Whether the queue must be restored from PostgreSQL (Redis lost its
    /// data, or a restore did not finish), taking the restore on for this
    /// worker when it must: only one worker at a time gets true.
    public func needsRestore(by workerID: String) async throws -> Bool {
        if try await redis.command("GET", restoreMarker).string == "ok" { return false }
        guard try await redis.command("SET", restoreLock, workerID, "NX", "PX", 120_000).string == "OK" else { return false }
        try await redis.command("SET", restoreMarker, "restoring")
        return true
    }

    /// The restore is complete. If Redis lost its data again meanwhile the
    /// marker is gone and stays gone, so the next check restores again.
    public func restored(by workerID: String) async throws {
        _ = try await redis.pipeline([RedisCommand("SET", restoreMarker, "ok", "XX"), RedisCommand("DEL", restoreLock)])
    }

    /// Takes cancelled jobs out of `delayed` (members `number|job|segments`),
    /// so the delayed count is only what will still be sent.
    public func forgetDelayed(members: [String]) async throws {
        for start in stride(from: 0, to: members.count, by: Self.pushBatch) {
            let batch = members[start..<min(start + Self.pushBatch, members.count)]
            _ = try await redis.pipeline([RedisCommand("ZREM", [delayed] + batch.map { $0 as any RedisArgument })])
        }
    }

    private func settle(_ job: QueuedJob, _ action: String, due: Date?) async throws -> Bool {
        try await redis.run(
            SendQueueScripts.settle, keys: [active, delayed, dead],
            arguments: [job.member, action, due.map { String(Self.milliseconds($0)) } ?? "0"]
        ).int == 1
    }

    private func requeue(from source: String, now: Date, limit: Int) async throws -> Int {
        try await redis.run(
            SendQueueScripts.requeueDue, keys: [source, ready, pace],
            arguments: [queuePrefix, String(Self.milliseconds(now)), String(limit)]
        ).int ?? 0
    }

    static func milliseconds(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) }
}
