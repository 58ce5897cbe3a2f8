import Foundation
import Redis
import SMSCore
import Testing
import TestSupport

/// A queue in its own key namespace (same hash-tag shape as production).
func testQueue() throws -> (SendQueue, RedisClient) {
    var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
    configuration.maxConnections = 2
    let redis = RedisClient(configuration: configuration)
    return (SendQueue(redis: redis, namespace: "test:{send-\(UUID().uuidString.prefix(8))}"), redis)
}

func jobs(_ count: Int, segments: Int = 1, number: String, prefix: String = "j") -> [QueuedJob] {
    (0..<count).map { QueuedJob(numberID: number, jobID: "\(prefix)\($0)", segments: segments) }
}

@Suite("Send queue")
struct SendQueueTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a number is paced at its throughput: segments ÷ segments-per-second between sends")
    func pacing() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push([QueuedJob(numberID: "n1", jobID: "a", segments: 3)] + jobs(2, number: "n1"), numberID: "n1", segmentsPerSecond: 2, now: t0)

        #expect(try await queue.pop(now: t0) == .job(QueuedJob(numberID: "n1", jobID: "a", segments: 3)))
        #expect(try await queue.pop(now: t0) == .wait(milliseconds: 1_500))
        #expect(try await queue.pop(now: t0.addingTimeInterval(1.5)) == .job(QueuedJob(numberID: "n1", jobID: "j0", segments: 1)))
        #expect(try await queue.pop(now: t0.addingTimeInterval(1.5)) == .wait(milliseconds: 500))
        #expect(try await queue.pop(now: t0.addingTimeInterval(2.0)) == .job(QueuedJob(numberID: "n1", jobID: "j1", segments: 1)))
        #expect(try await queue.pop(now: t0.addingTimeInterval(9)) == .empty)
    }

    @Test("a 100,000-job backlog on one tenant's number does not delay another tenant's 10 messages")
    func fairness() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push(jobs(100_000, number: "big", prefix: "a"), numberID: "big", segmentsPerSecond: 100, now: t0)
        try await queue.push(jobs(10, number: "small", prefix: "b"), numberID: "small", segmentsPerSecond: 10, now: t0)

        // Consumers pop as fast as the queue allows, on a virtual clock.
        var clock = t0
        var smallSent: [TimeInterval] = []
        var pops = 0
        while smallSent.count < 10 && pops < 10_000 {
            pops += 1
            switch try await queue.pop(now: clock) {
            case .job(let job):
                if job.numberID == "small" { smallSent.append(clock.timeIntervalSince(t0)) }
            case .wait(let ms):
                clock = clock.addingTimeInterval(Double(ms) / 1000)
            case .empty:
                Issue.record("queue ran dry")
                return
            }
        }

        #expect(smallSent.count == 10)
        // Ten messages at 10/s: the last leaves 0.9 s after launch, backlog or not.
        #expect((smallSent.last ?? 99) <= 0.91)
        let depth = try await queue.depth()
        #expect(depth.queued > 99_000)
    }

    @Test("an expired lease goes back to the front of its list; a completed job does not")
    func leases() async throws {
        let (base, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        var queue = base
        queue.lease = .seconds(30)
        try await queue.push(jobs(2, number: "n", prefix: "x"), numberID: "n", segmentsPerSecond: 1000, now: t0)
        guard case .job(let first) = try await queue.pop(now: t0) else { Issue.record("no job"); return }
        guard case .job(let second) = try await queue.pop(now: t0.addingTimeInterval(1)) else { Issue.record("no job"); return }
        #expect(try await queue.complete(second))

        #expect(try await queue.reapExpiredLeases(now: t0.addingTimeInterval(10)) == 0)
        #expect(try await queue.reapExpiredLeases(now: t0.addingTimeInterval(31)) == 1)

        #expect(try await queue.pop(now: t0.addingTimeInterval(31)) == .job(first))
        // The reaped lease was handed out again, so the old holder's settle is refused.
        #expect(try await queue.complete(second) == false)
    }

    @Test("a delayed job comes back when due, at the front of its number's list")
    func delayAndPromote() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push(jobs(3, number: "n", prefix: "d"), numberID: "n", segmentsPerSecond: 1000, now: t0)
        guard case .job(let job) = try await queue.pop(now: t0) else { Issue.record("no job"); return }

        #expect(try await queue.delay(job, until: t0.addingTimeInterval(60)))
        #expect(try await queue.promoteDue(now: t0.addingTimeInterval(30)) == 0)
        #expect(try await queue.promoteDue(now: t0.addingTimeInterval(61)) == 1)

        #expect(try await queue.pop(now: t0.addingTimeInterval(61)) == .job(job))
        let depth = try await queue.depth()
        #expect(depth.delayed == 0)
        #expect(depth.queued == 2)
    }

    @Test("parked jobs pushed to the front keep their order ahead of the rest")
    func frontPushKeepsOrder() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push(jobs(2, number: "n", prefix: "later"), numberID: "n", segmentsPerSecond: 1000, now: t0)
        try await queue.push(jobs(3, number: "n", prefix: "parked"), numberID: "n", segmentsPerSecond: nil, atFront: true, now: t0)

        var order: [String] = []
        var clock = t0
        for _ in 0..<20 where order.count < 5 {
            switch try await queue.pop(now: clock) {
            case .job(let job): order.append(job.jobID)
            case .wait(let ms): clock = clock.addingTimeInterval(Double(ms) / 1000)
            case .empty: break
            }
        }
        #expect(order == ["parked0", "parked1", "parked2", "later0", "later1"])
    }

    @Test("a job that used up its attempts goes to the dead list")
    func deadList() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push(jobs(1, number: "n"), numberID: "n", segmentsPerSecond: 1, now: t0)
        guard case .job(let job) = try await queue.pop(now: t0) else { Issue.record("no job"); return }

        #expect(try await queue.bury(job))
        let depth = try await queue.depth()
        #expect(depth.dead == 1)
        #expect(depth.active == 0)
    }

    @Test("the queue scripts survive SCRIPT FLUSH")
    func scriptsSurviveFlush() async throws {
        let (queue, redis) = try testQueue()
        defer { Task { await redis.shutdown() } }
        try await queue.push(jobs(1, number: "n"), numberID: "n", segmentsPerSecond: 1, now: t0)
        try await redis.command("SCRIPT", "FLUSH")

        #expect(try await queue.pop(now: t0) == .job(QueuedJob(numberID: "n", jobID: "j0", segments: 1)))
    }
}
