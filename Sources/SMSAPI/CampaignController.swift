import Foundation
import Hummingbird
import SMSCore

/// Campaigns: CRUD while draft or scheduled, preview, stats, and the campaign
/// kill switch (pause, resume, cancel). Launch belongs to the send pipeline.
struct CampaignController {
    let campaigns: CampaignStore
    let insights: CampaignInsights
    let tenants: TenantStore
    let sendControl: SendControl
    let launcher: CampaignLauncher

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants/:tenantId/campaigns") { request, context in try await list(request, context: context) }
        router.post("tenants/:tenantId/campaigns") { request, context in try await create(request, context: context) }
        router.get("tenants/:tenantId/campaigns/:campaignId") { _, context in try await show(context: context) }
        router.patch("tenants/:tenantId/campaigns/:campaignId") { request, context in try await update(request, context: context) }
        router.delete("tenants/:tenantId/campaigns/:campaignId") { _, context in try await delete(context: context) }
        router.get("tenants/:tenantId/campaigns/:campaignId/preview") { _, context in try await preview(context: context) }
        router.get("tenants/:tenantId/campaigns/:campaignId/stats") { _, context in try await stats(context: context) }
        router.post("tenants/:tenantId/campaigns/:campaignId/launch") { _, context in try await launch(context: context) }
        for transition in [CampaignStore.Transition.pause, .resume, .cancel] {
            router.post("tenants/:tenantId/campaigns/:campaignId/\(transition.rawValue)") { _, context in
                try await apply(transition, context: context)
            }
        }
    }

    func list(_ request: Request, context: AppRequestContext) async throws -> PageBody<Campaign> {
        let access = try context.tenantAccess(minimum: .viewer)
        let page = try PageRequest(request)
        var status: CampaignStatus?
        if let raw = request.uri.queryParameters.get("status") {
            guard let parsed = CampaignStatus(rawValue: raw) else { throw APIError.badRequest("status is not a campaign status", details: ["status"]) }
            status = parsed
        }
        return PageBody(try await campaigns.list(tenantID: access.tenantID, status: status, cursor: page.cursor, limit: page.limit))
    }

    func create(_ request: Request, context: AppRequestContext) async throws -> JSONResponse<Campaign> {
        let access = try context.tenantAccess(minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: CampaignBody.self, context: context)
        guard body.name != nil else { throw APIError.invalid("name", "is required") }
        guard body.bodyTemplate != nil else { throw APIError.invalid("body_template", "is required") }
        let fields = try body.validated()
        let createdBy: String? = if case .user = access.principal.kind { access.principal.id } else { nil }
        let campaign = try await mapped {
            try await campaigns.create(
                tenantID: access.tenantID, fields: fields, createdBy: createdBy,
                audit: context.audit(tenantID: access.tenantID, action: "campaign.create", targetType: "campaign"))
        }
        return JSONResponse(status: .created, body: campaign)
    }

    func show(context: AppRequestContext) async throws -> Campaign {
        let (tenantID, id) = try ids(context, minimum: .viewer)
        guard let campaign = try await campaigns.find(tenantID: tenantID, id: id) else { throw APIError.notFound("campaign") }
        return campaign
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> Campaign {
        let (tenantID, id) = try ids(context, minimum: .member)
        var request = request
        let body = try await request.decodeJSON(as: CampaignBody.self, context: context)
        let fields = try body.validated()
        let campaign = try await mapped {
            try await campaigns.update(
                tenantID: tenantID, id: id, fields: fields,
                audit: context.audit(
                    tenantID: tenantID, action: "campaign.update", targetType: "campaign", targetID: id,
                    details: ["fields": body.presentFields.joined(separator: ",")]))
        }
        guard let campaign else { throw APIError.notFound("campaign") }
        return campaign
    }

    func delete(context: AppRequestContext) async throws -> Response {
        let (tenantID, id) = try ids(context, minimum: .member)
        let deleted = try await mapped {
            try await campaigns.delete(
                tenantID: tenantID, id: id,
                audit: context.audit(tenantID: tenantID, action: "campaign.delete", targetType: "campaign", targetID: id))
        }
        guard deleted else { throw APIError.notFound("campaign") }
        return Response(status: .noContent)
    }

    func preview(context: AppRequestContext) async throws -> CampaignPreview {
        let (tenantID, id) = try ids(context, minimum: .viewer)
        guard let campaign = try await campaigns.find(tenantID: tenantID, id: id),
            let tenant = try await tenants.find(id: tenantID)
        else { throw APIError.notFound("campaign") }
        return try await insights.preview(tenantID: tenantID, campaign: campaign, footer: tenant.optOutFooter)
    }

    func stats(context: AppRequestContext) async throws -> CampaignStats {
        let (tenantID, id) = try ids(context, minimum: .viewer)
        guard let campaign = try await campaigns.find(tenantID: tenantID, id: id) else { throw APIError.notFound("campaign") }
        return try await insights.stats(tenantID: tenantID, campaign: campaign)
    }

    struct TransitionResult: Encodable, ResponseEncodable {
        let campaign: Campaign
        let cancelledJobs: Int
        /// A pause: sends of live workers already on their way when it began, and how many still had no answer when it answered.
        let inFlight: Int?
        let stillInFlight: Int?
        /// A resume: parked jobs queued again.
        let resumedJobs: Int?
    }

    /// pause, resume and cancel: member and up, idempotent, audited; the Redis
    /// flag the workers read is written before the answer.
    func apply(_ transition: CampaignStore.Transition, context: AppRequestContext) async throws -> TransitionResult {
        let (tenantID, id) = try ids(context, minimum: .member)
        let actor = context.principal?.auditActor.label ?? "unknown"
        let audit = context.audit(tenantID: tenantID, action: "campaign.\(transition.rawValue)", targetType: "campaign", targetID: id)
        let change = try await mapped {
            switch transition {
            case .pause, .resume:
                try await sendControl.set(
                    .campaign(tenantID: tenantID, campaignID: id), paused: transition == .pause, actor: actor, reason: nil, audit: audit)
            case .cancel:
                try await sendControl.cancel(tenantID: tenantID, campaignID: id, actor: actor, audit: audit)
            }
        }
        guard let change, case .campaign(let campaign, let cancelled) = change.state else { throw APIError.notFound("campaign") }
        return TransitionResult(
            campaign: campaign, cancelledJobs: cancelled, inFlight: change.drain?.inFlight, stillInFlight: change.drain?.stillInFlight,
            resumedJobs: change.resumedJobs)
    }

    /// Creates the jobs and queues them; a relaunch adds only new recipients.
    func launch(context: AppRequestContext) async throws -> LaunchResult {
        let (tenantID, id) = try ids(context, minimum: .member)
        do {
            return try await launcher.launch(
                tenantID: tenantID, campaignID: id,
                audit: context.audit(tenantID: tenantID, action: "campaign.launch", targetType: "campaign", targetID: id))
        } catch let error as LaunchError {
            switch error {
            case .notFound: throw APIError.notFound("campaign")
            case .wrongStatus(let status): throw APIError.conflict("a \(status.rawValue) campaign cannot be launched")
            case .noLists: throw APIError.invalid("list_ids", "the campaign has no audience lists")
            case .noActiveNumbers: throw APIError.invalid("sending_number_ids", "the campaign has no active sending numbers")
            }
        }
    }

    private func ids(_ context: AppRequestContext, minimum: Role) throws -> (String, String) {
        let access = try context.tenantAccess(minimum: minimum)
        return (access.tenantID, try context.uuidParameter("campaignId", resource: "campaign"))
    }

    /// Turns the store's refusals into API errors.
    private func mapped<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as CampaignError {
            switch error {
            case .unknownLists(let ids):
                throw APIError(.unprocessableContent, code: "validation_failed", message: "list_ids: not lists of this tenant: \(ids.joined(separator: ", "))", details: ["list_ids"])
            case .unknownOrInactiveNumbers(let ids):
                throw APIError(
                    .unprocessableContent, code: "validation_failed",
                    message: "sending_number_ids: not active numbers of this tenant: \(ids.joined(separator: ", "))", details: ["sending_number_ids"])
            case .wrongStatus(let status, let action):
                throw APIError.conflict("a \(status.rawValue) campaign cannot \(action == "edit" ? "be edited" : action == "delete" ? "be deleted" : action); see its status")
            }
        }
    }
}

/// The JSON of a campaign create or update.
struct CampaignBody: Decodable {
    var name: String?
    var bodyTemplate: String?
    var listIds: [String]?
    var sendingNumberIds: [String]?
    var quietHoursStart: String??
    var quietHoursEnd: String??
    var scheduledAt: Date??
    var presentFields: [String] = []

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, bodyTemplate, listIds, sendingNumberIds, quietHoursStart, quietHoursEnd, scheduledAt
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        bodyTemplate = try c.decodeIfPresent(String.self, forKey: .bodyTemplate)
        listIds = try c.decodeIfPresent([String].self, forKey: .listIds)
        sendingNumberIds = try c.decodeIfPresent([String].self, forKey: .sendingNumberIds)
        quietHoursStart = try c.decodeNullable(String.self, forKey: .quietHoursStart)
        quietHoursEnd = try c.decodeNullable(String.self, forKey: .quietHoursEnd)
        scheduledAt = try c.decodeNullable(Date.self, forKey: .scheduledAt)
        presentFields = CodingKeys.allCases.filter { c.contains($0) }.map { $0.stringValue.snakeCased }
    }

    func validated() throws -> CampaignFields {
        var fields = CampaignFields()
        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...200).contains(trimmed.count) else { throw APIError.invalid("name", "1 to 200 characters") }
            fields.name = trimmed
        }
        if let bodyTemplate {
            do {
                _ = try MessageTemplate(bodyTemplate, allowedPlaceholders: MessageTemplate.standardPlaceholders)
            } catch {
                throw APIError.invalid("body_template", "\(error)")
            }
            fields.bodyTemplate = bodyTemplate
        }
        fields.listIDs = try listIds.map { try Self.uuids($0, field: "list_ids") }
        fields.sendingNumberIDs = try sendingNumberIds.map { try Self.uuids($0, field: "sending_number_ids") }
        switch (quietHoursStart, quietHoursEnd) {
        case (nil, nil):
            break
        case (.some(nil), .some(nil)):
            fields.quietHours = .some(nil)
        case (.some(.some(let start)), .some(.some(let end))):
            let from = try QuietHoursClock.minutes(start, field: "quiet_hours_start")
            let to = try QuietHoursClock.minutes(end, field: "quiet_hours_end")
            guard from != to else { throw APIError.invalid("quiet_hours_end", "must differ from quiet_hours_start") }
            fields.quietHours = .some((from, to))
        default:
            throw APIError.invalid("quiet_hours_start", "set both quiet_hours_start and quiet_hours_end, or null both for the tenant's window")
        }
        if case .some(.some(let date)) = scheduledAt, date < Date() {
            throw APIError.invalid("scheduled_at", "is in the past")
        }
        fields.scheduledAt = scheduledAt
        return fields
    }

    static func uuids(_ values: [String], field: String) throws -> [String] {
        guard values.count <= 100 else { throw APIError.invalid(field, "at most 100 ids") }
        return try values.map { value in
            guard let uuid = UUID(uuidString: value) else { throw APIError.invalid(field, "\"\(value)\" is not an id") }
            return uuid.uuidString.lowercased()
        }
    }
}

extension Campaign: ResponseEncodable {}
extension CampaignPreview: ResponseEncodable {}
extension CampaignStats: ResponseEncodable {}
extension LaunchResult: ResponseEncodable {}
