import ArgumentParser
import Foundation
import Logging
import Postgres
import Redis
import SMSCore

/// PostgreSQL and Redis for the commands that touch the send path.
/// REDIS_URL is required here (the kill switch flag, the queue).
func withStores<T>(_ body: (PostgresClient, RedisClient, AppConfiguration) async throws -> T) async throws -> T {
    let configuration = ProcessStartup.configuration(for: .cli)
    guard let url = ProcessInfo.processInfo.environment["REDIS_URL"], !url.isEmpty else {
        throw ValidationError("REDIS_URL is missing (Redis URL, e.g. redis://127.0.0.1:6379/0): this command uses the send queue")
    }
    var redisConfiguration: RedisConfiguration
    do {
        redisConfiguration = try RedisConfiguration(url: url)
    } catch {
        throw ValidationError("REDIS_URL is malformed (expected redis://[:password@]host:port[/db])")
    }
    redisConfiguration.maxConnections = 2
    let postgres = PostgresClient(configuration: .init(url: configuration.databaseURL, maxConnections: 2, applicationName: "smscrm-cli"))
    let redis = RedisClient(configuration: redisConfiguration)
    do {
        let value = try await body(postgres, redis, configuration)
        await postgres.shutdown()
        await redis.shutdown()
        return value
    } catch {
        await postgres.shutdown()
        await redis.shutdown()
        throw CLIFailure(error)
    }
}

/// `--all` or `--tenant ID`, exactly one.
struct KillSwitchScope: ParsableArguments {
    @Flag(help: "Every tenant (the global kill switch).") var all = false
    @Option(help: "One tenant's id.") var tenant: String?

    func validate() throws {
        guard all != (tenant != nil) else { throw ValidationError("give exactly one of --all and --tenant ID") }
        if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant takes a tenant id (UUID)") }
    }
}

let cliLogger = Logger(label: "smscrm.cli")

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop sending (kill switch), audited. Returns once sends already on their way to Twilio have been answered.")

    @OptionGroup var scope: KillSwitchScope
    @Option(help: "Why (kept with the pause and in the audit log).") var reason: String?

    func run() async throws {
        let actor = AuditActor.cli.label ?? "smscrm"
        let message = try await withStores { postgres, redis, configuration in
            let control = SendControl(postgres: postgres, redis: redis, configuration: configuration, logger: cliLogger)
            if scope.all {
                let state = try await PlatformKillSwitch(postgres: postgres, control: control).pause(
                    by: actor, reason: reason,
                    audit: AuditEntry(tenantID: nil, actor: .cli, action: "platform.pause", details: reason.map { ["reason": $0] } ?? [:]))
                let left = state.inFlight ?? 0
                return "paused all sending\(left > 0 ? " (\(left) sends still in flight after \(control.drainTimeout))" : "")"
            }
            let id = scope.tenant!.lowercased()
            guard
                try await TenantStore(postgres: postgres).setPaused(
                    id: id, paused: true, by: actor, reason: reason,
                    audit: AuditEntry(
                        tenantID: id, actor: .cli, action: "tenant.pause", targetType: "tenant", targetID: id,
                        details: reason.map { ["reason": $0] } ?? [:])) != nil
            else { throw ValidationError("no tenant \(id)") }
            try await control.killSwitch.setTenant(id, paused: true)
            let left = try await control.drain(tenantID: id, campaignID: nil)
            return "paused tenant \(id)\(left > 0 ? " (\(left) sends still in flight)" : "")"
        }
        print(message)
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume sending, audited; parked jobs go back to the front of their queues.")

    @OptionGroup var scope: KillSwitchScope

    func run() async throws {
        let message = try await withStores { postgres, redis, configuration in
            let control = SendControl(postgres: postgres, redis: redis, configuration: configuration, logger: cliLogger)
            if scope.all {
                let state = try await PlatformKillSwitch(postgres: postgres, control: control).resume(
                    audit: AuditEntry(tenantID: nil, actor: .cli, action: "platform.resume"))
                return "resumed all sending; \(state.resumedJobs ?? 0) parked jobs queued again"
            }
            let id = scope.tenant!.lowercased()
            guard
                try await TenantStore(postgres: postgres).setPaused(
                    id: id, paused: false, by: AuditActor.cli.label ?? "smscrm", reason: nil,
                    audit: AuditEntry(tenantID: id, actor: .cli, action: "tenant.resume", targetType: "tenant", targetID: id)) != nil
            else { throw ValidationError("no tenant \(id)") }
            try await control.killSwitch.setTenant(id, paused: false)
            let woken = try await control.wake(tenantID: id, campaignID: nil)
            return "resumed tenant \(id); \(woken) parked jobs queued again"
        }
        print(message)
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Queue status: pending, active, delayed, parked, dead, completed and failed today (JSON).")

    @Option(help: "One tenant's id (default: the whole platform, with Redis's depths).") var tenant: String?

    func run() async throws {
        if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant takes a tenant id (UUID)") }
        let report = try await withStores { postgres, redis, _ in
            try await QueueReport.make(postgres: postgres, queue: tenant == nil ? SendQueue(redis: redis) : nil, tenantID: tenant?.lowercased())
        }
        print(try cliJSON(report))
    }
}

struct DeadLettersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters", abstract: "Jobs that failed after every attempt: list, retry or purge.",
        subcommands: [List.self, Retry.self, Purge.self])

    struct Selection: ParsableArguments {
        @Option(help: "The tenant's id.") var tenant: String
        @Option(name: .customLong("job"), help: "A job id (repeatable); default: every dead job of the tenant.") var jobs: [String] = []

        func validate() throws {
            guard UUID(uuidString: tenant) != nil else { throw ValidationError("--tenant takes a tenant id (UUID)") }
            for job in jobs where UUID(uuidString: job) == nil { throw ValidationError("--job takes a job id (UUID): \(job)") }
        }

        var jobIDs: [String]? { jobs.isEmpty ? nil : jobs.map { $0.lowercased() } }

        /// Runs retry or purge on the selected dead jobs, audited as `action`.
        func apply(
            _ action: String, _ operation: @escaping @Sendable (DeadLetters) -> (String, [String]?, AuditEntry) async throws -> Int
        ) async throws -> Int {
            let tenantID = tenant.lowercased()
            let jobIDs = self.jobIDs
            return try await withStores { postgres, redis, _ in
                try await operation(DeadLetters(postgres: postgres, queue: SendQueue(redis: redis)))(
                    tenantID, jobIDs, AuditEntry(tenantID: tenantID, actor: .cli, action: action))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead jobs with their last error (JSON lines).")
        @Option(help: "The tenant's id.") var tenant: String
        @Option(help: "At most this many.") var limit = 100

        func run() async throws {
            guard UUID(uuidString: tenant) != nil else { throw ValidationError("--tenant takes a tenant id (UUID)") }
            let page = try await withStores { postgres, redis, _ in
                try await DeadLetters(postgres: postgres, queue: SendQueue(redis: redis)).list(
                    tenantID: tenant.lowercased(), cursor: nil, limit: max(1, min(limit, 10_000)))
            }
            for item in page.items { print(try cliJSON(item, pretty: false)) }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue dead jobs again with fresh attempts (audited).")
        @OptionGroup var selection: Selection

        func run() async throws {
            let count = try await selection.apply("dead_letters.retry") { $0.retry }
            print("queued \(count) dead jobs again")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop dead jobs from the dead list; they stay failed (audited).")
        @OptionGroup var selection: Selection

        func run() async throws {
            let count = try await selection.apply("dead_letters.purge") { $0.purge }
            print("purged \(count) dead jobs")
        }
    }
}

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Login sessions.", subcommands: [Revoke.self])

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Log users out by deleting their sessions (security response); audited. API keys are not affected.")
        @Flag(help: "Every session of every user.") var all = false
        @Option(help: "Only this user's sessions.") var user: String?

        func validate() throws {
            guard all != (user != nil) else { throw ValidationError("give exactly one of --all and --user EMAIL") }
        }

        func run() async throws {
            let count = try await withDatabase { postgres in
                try await postgres.withTransaction { connection in
                    var target: String?
                    if let user {
                        guard let id = try connection.query("SELECT id::text FROM users WHERE lower(email) = lower($1)", user).first else {
                            throw ValidationError("no user with the email \(user)")
                        }
                        target = try id.decode(at: 0, as: String.self)
                    }
                    let deleted = try connection.query(
                        "DELETE FROM sessions WHERE $1::uuid IS NULL OR user_id = $1::uuid", target
                    ).affectedRows
                    try AuditLog.record(
                        AuditEntry(
                            tenantID: nil, actor: .cli, action: "sessions.revoke", targetType: target == nil ? nil : "user", targetID: target,
                            details: ["scope": user == nil ? "all" : "user", "sessions": String(deleted)]),
                        on: connection)
                    return deleted
                }
            }
            print("revoked \(count) sessions")
        }
    }
}

func cliJSON<T: Encodable>(_ value: T, pretty: Bool = true) throws -> String {
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
