import Foundation
import Hummingbird
import Postgres
import SMSCore

/// Operator routes: the global kill switch and queue status for platform
/// admins (`/admin/…`), and each tenant's queue status and dead letters.
struct OperationsController {
    let postgres: PostgresClient
    let queue: SendQueue
    let control: SendControl
    let deadLetters: DeadLetters

    func addRoutes(to router: Router<AppRequestContext>) {
        router.post("admin/pause") { request, context in try await pause(request, context: context) }
        router.post("admin/resume") { _, context in try await resume(context: context) }
        router.get("admin/queue") { _, context in try await adminQueue(context: context) }
        router.get("tenants/:tenantId/queue") { _, context in try await tenantQueue(context: context) }
        router.get("tenants/:tenantId/dead-letters") { request, context in try await listDead(request, context: context) }
        router.post("tenants/:tenantId/dead-letters/retry") { request, context in try await retryDead(request, context: context) }
        router.delete("tenants/:tenantId/dead-letters") { request, context in try await purgeDead(request, context: context) }
    }

    /// Platform admins only; anyone else is told the route needs one.
    private func requirePlatformAdmin(_ context: AppRequestContext) throws -> Principal {
        let principal = try context.requirePrincipal()
        guard case .user(_, true) = principal.kind else {
            throw APIError(.forbidden, code: "forbidden", message: "this needs a platform administrator")
        }
        return principal
    }

    struct PauseBody: Decodable {
        let reason: String?
    }

    func pause(_ request: Request, context: AppRequestContext) async throws -> PlatformKillSwitch.State {
        let principal = try requirePlatformAdmin(context)
        var request = request
        let reason = try await request.decodeOptionalJSON(as: PauseBody.self, context: context)?.reason
        if let reason, reason.count > 500 { throw APIError.invalid("reason", "at most 500 characters") }
        let change = try await control.set(
            .platform, paused: true, actor: principal.auditActor.label ?? "platform admin", reason: reason,
            audit: context.audit(tenantID: nil, action: "platform.pause", details: reason.map { ["reason": $0] } ?? [:]))
        return try platformState(change)
    }

    func resume(context: AppRequestContext) async throws -> PlatformKillSwitch.State {
        let principal = try requirePlatformAdmin(context)
        let change = try await control.set(
            .platform, paused: false, actor: principal.auditActor.label ?? "platform admin", reason: nil,
            audit: context.audit(tenantID: nil, action: "platform.resume"))
        return try platformState(change)
    }

    private func platformState(_ change: KillSwitchChange?) throws -> PlatformKillSwitch.State {
        guard let state = change?.platform else { throw APIError.notFound("platform settings") }
        return state
    }

    func adminQueue(context: AppRequestContext) async throws -> QueueReport {
        _ = try requirePlatformAdmin(context)
        return try await QueueReport.make(postgres: postgres, queue: queue, tenantID: nil)
    }

    func tenantQueue(context: AppRequestContext) async throws -> QueueReport {
        let access = try context.tenantAccess(minimum: .viewer)
        return try await QueueReport.make(postgres: postgres, queue: nil, tenantID: access.tenantID)
    }

    func listDead(_ request: Request, context: AppRequestContext) async throws -> PageBody<DeadLetter> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        return PageBody(try await deadLetters.list(tenantID: access.tenantID, cursor: page.cursor, limit: page.limit))
    }

    /// `{"job_ids": [...]}` or `{"all": true}`, exactly one: a destructive
    /// "all" is never what a missing or null field means (issue 12).
    struct JobSelection: Decodable {
        let jobIds: [String]?
        let all: Bool?

        enum CodingKeys: String, CodingKey { case jobIds, all }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            if c.contains(.jobIds), try c.decodeNil(forKey: .jobIds) {
                throw APIError.badRequest("job_ids must be a list of job ids, not null; send {\"all\": true} for every dead job", details: ["job_ids"])
            }
            jobIds = try c.decodeIfPresent([String].self, forKey: .jobIds)
            all = try c.decodeIfPresent(Bool.self, forKey: .all)
        }
    }

    struct Affected: Encodable, ResponseEncodable {
        let jobs: Int
    }

    /// The body's `job_ids` (each a UUID), or nil for `{"all": true}`.
    private func selection(_ request: Request, context: AppRequestContext) async throws -> [String]? {
        var request = request
        let body = try await request.decodeOptionalJSON(as: JobSelection.self, context: context)
        switch (body?.jobIds, body?.all) {
        case (nil, true?):
            return nil
        case (nil, _):
            throw APIError.badRequest("name the jobs (job_ids), or send {\"all\": true} for every dead job of the tenant", details: ["job_ids"])
        case (_, true?):
            throw APIError.badRequest("give job_ids or all, not both", details: ["all"])
        case (.some, _):
            break
        }
        guard let ids = body?.jobIds else { return nil }
        guard ids.count <= 10_000 else { throw APIError.invalid("job_ids", "at most 10,000 at a time") }
        return try ids.enumerated().map { index, id in
            guard let uuid = UUID(uuidString: id) else { throw APIError.invalid("job_ids[\(index)]", "must be a job id (UUID)") }
            return uuid.uuidString.lowercased()
        }
    }

    func retryDead(_ request: Request, context: AppRequestContext) async throws -> Affected {
        try await onDead(request, context: context, action: "dead_letters.retry", deadLetters.retry)
    }

    func purgeDead(_ request: Request, context: AppRequestContext) async throws -> Affected {
        try await onDead(request, context: context, action: "dead_letters.purge", deadLetters.purge)
    }

    /// Retry or purge on the request's selection of dead jobs (admins), audited as `action`.
    private func onDead(
        _ request: Request, context: AppRequestContext, action: String,
        _ operation: (String, [String]?, AuditEntry) async throws -> Int
    ) async throws -> Affected {
        let access = try context.tenantAccess(minimum: .admin)
        let ids = try await selection(request, context: context)
        return Affected(jobs: try await operation(access.tenantID, ids, context.audit(tenantID: access.tenantID, action: action)))
    }
}

extension PlatformKillSwitch.State: ResponseEncodable {}
extension QueueReport: ResponseEncodable {}
extension DeadLetter: ResponseEncodable {}
