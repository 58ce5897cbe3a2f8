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

/// `--all`, `--tenant ID`, or `--tenant ID --campaign ID`.
struct KillSwitchScopeOptions: ParsableArguments {
    @Flag(help: "Every tenant (the global kill switch).") var all = false
    @Option(help: "One tenant's id.") var tenant: String?
    @Option(help: "One campaign's id (with --tenant).") var campaign: String?

    func validate() throws {
        guard all != (tenant != nil) else { throw ValidationError("give exactly one of --all and --tenant ID") }
        if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant takes a tenant id (UUID)") }
        if let campaign {
            guard tenant != nil else { throw ValidationError("--campaign needs the campaign's --tenant ID") }
            guard UUID(uuidString: campaign) != nil else { throw ValidationError("--campaign takes a campaign id (UUID)") }
        }
    }

    var scope: KillSwitchScope {
        guard let tenant = tenant?.lowercased() else { return .platform }
        guard let campaign = campaign?.lowercased() else { return .tenant(tenant) }
        return .campaign(tenantID: tenant, campaignID: campaign)
    }

    var label: String {
        switch scope {
        case .platform: "all sending"
        case .tenant(let id): "tenant \(id)"
        case .campaign(_, let id): "campaign \(id)"
        }
    }

    /// The audit entry: `platform.pause`, `tenant.resume`, `campaign.pause`…
    func audit(action: String, details: [String: String] = [:]) -> AuditEntry {
        switch scope {
        case .platform:
            AuditEntry(tenantID: nil, actor: .cli, action: "platform.\(action)", details: details)
        case .tenant(let id):
            AuditEntry(tenantID: id, actor: .cli, action: "tenant.\(action)", targetType: "tenant", targetID: id, details: details)
        case .campaign(let tenantID, let id):
            AuditEntry(tenantID: tenantID, actor: .cli, action: "campaign.\(action)", targetType: "campaign", targetID: id, details: details)
        }
    }
}

let cliLogger = Logger(label: "smscrm.cli")

struct PauseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pause",
        abstract: "Stop sending (kill switch), audited. Returns once sends already on their way to Twilio have been answered.")

    @OptionGroup var scope: KillSwitchScopeOptions
    @Option(help: "Why (kept with the pause and in the audit log).") var reason: String?

    func run() async throws {
        let message = try await withStores { postgres, redis, configuration in
            let control = SendControl(postgres: postgres, redis: redis, configuration: configuration, logger: cliLogger)
            let target = scope.scope
            guard
                let change = try await control.set(
                    target, paused: true, actor: AuditActor.cli.label ?? "smscrm", reason: reason,
                    audit: scope.audit(action: "pause", details: reason.map { ["reason": $0] } ?? [:]))
            else { throw ValidationError("no such \(scope.campaign == nil ? "tenant" : "campaign"): \(scope.label)") }
            let inFlight = change.drain?.inFlight ?? 0
            let still = change.drain?.stillInFlight ?? 0
            let waited = inFlight > 0 ? "; waited for \(inFlight) sends already in flight" : ""
            let left = still > 0 ? " (\(still) still in flight after \(control.drainTimeout))" : ""
            return "paused \(scope.label)\(waited)\(left)"
        }
        print(message)
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume", abstract: "Resume sending, audited; parked jobs go back to the front of their queues.")

    @OptionGroup var scope: KillSwitchScopeOptions

    func run() async throws {
        let message = try await withStores { postgres, redis, configuration in
            let control = SendControl(postgres: postgres, redis: redis, configuration: configuration, logger: cliLogger)
            guard
                let change = try await control.set(
                    scope.scope, paused: false, actor: AuditActor.cli.label ?? "smscrm", reason: nil, audit: scope.audit(action: "resume"))
            else { throw ValidationError("no such \(scope.campaign == nil ? "tenant" : "campaign"): \(scope.label)") }
            return "resumed \(scope.label); \(change.resumedJobs ?? 0) parked jobs queued again"
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
        @Option(name: .customLong("job"), help: "A job id (repeatable).") var jobs: [String] = []
        @Flag(help: "Every dead job of the tenant.") var all = false

        func validate() throws {
            guard UUID(uuidString: tenant) != nil else { throw ValidationError("--tenant takes a tenant id (UUID)") }
            guard all != !jobs.isEmpty else { throw ValidationError("name the jobs with --job JOB_ID (repeatable), or give --all") }
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
