import Foundation
import Hummingbird
import SMSCore

/// Tenants, their settings, and the tenant kill switch.
struct TenantController {
    let tenants: TenantStore
    let sendControl: SendControl
    let insights: CampaignInsights

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("tenants") { _, context in try await list(context: context) }
        router.get("tenants/:tenantId") { _, context in try await show(context: context) }
        router.patch("tenants/:tenantId") { request, context in try await update(request, context: context) }
        router.post("tenants/:tenantId/pause") { request, context in try await setPaused(true, request, context: context) }
        router.post("tenants/:tenantId/resume") { request, context in try await setPaused(false, request, context: context) }
        router.get("tenants/:tenantId/stats") { _, context in try await stats(context: context) }
    }

    struct TenantList: Encodable {
        let items: [Tenant]
    }

    func list(context: AppRequestContext) async throws -> TenantList {
        let principal = try context.requirePrincipal()
        if case .user(_, true) = principal.kind { return TenantList(items: try await tenants.listAll()) }
        return TenantList(items: try await tenants.list(ids: Array(principal.roles.keys)))
    }

    func show(context: AppRequestContext) async throws -> Tenant {
        let access = try context.tenantAccess(minimum: .viewer)
        guard let tenant = try await tenants.find(id: access.tenantID) else { throw APIError.notFound("tenant") }
        return tenant
    }

    func update(_ request: Request, context: AppRequestContext) async throws -> Tenant {
        let access = try context.tenantAccess(minimum: .admin)
        var request = request
        let patch = try await request.decodeJSON(as: TenantPatch.self, context: context)
        let change = try patch.validated()
        // An empty patch changes nothing and answers the tenant as it is (not audited).
        guard !change.changedFields.isEmpty else {
            guard let tenant = try await tenants.find(id: access.tenantID) else { throw APIError.notFound("tenant") }
            return tenant
        }
        let audit = context.audit(
            tenantID: access.tenantID, action: "tenant.update", targetType: "tenant", targetID: access.tenantID,
            details: ["fields": change.changedFields.joined(separator: ",")])
        guard let tenant = try await tenants.update(id: access.tenantID, change: change, audit: audit) else {
            throw APIError.notFound("tenant")
        }
        if patch.dailyBudgetCents != nil || patch.monthlyBudgetCents != nil {
            // A raised (or removed) cap lets budget-deferred jobs go now, not at the next period;
            // any still over the cap are simply deferred again.
            try await sendControl.wakeBudgetDeferred(tenantID: access.tenantID)
        }
        return tenant
    }

    /// The tenant-wide delivery summary: the campaign report over every campaign.
    func stats(context: AppRequestContext) async throws -> CampaignStats {
        let access = try context.tenantAccess(minimum: .viewer)
        return try await insights.report(tenantID: access.tenantID, campaignID: nil)
    }

    struct PauseRequest: Decodable {
        let reason: String?
    }

    struct KillSwitchState: Encodable {
        let tenantId: String
        let paused: Bool
        let pausedAt: Date?
        let pausedBy: String?
        let reason: String?
        /// A pause: sends of live workers already on their way when it began, and how many still had no answer when it answered.
        let inFlight: Int?
        let stillInFlight: Int?
        /// A resume: parked jobs queued again.
        let resumedJobs: Int?
    }

    /// `POST …/pause` (member and up) and `POST …/resume` (admin and up), as in
    /// the runbook: no body needed, idempotent, audited, and the Redis flag the
    /// workers read is written before the answer.
    func setPaused(_ paused: Bool, _ request: Request, context: AppRequestContext) async throws -> KillSwitchState {
        let access = try context.tenantAccess(minimum: paused ? .member : .admin)
        var request = request
        let reason = try await request.decodeOptionalJSON(as: PauseRequest.self, context: context)?.reason
        if let text = reason, text.count > 500 { throw APIError.invalid("reason", "at most 500 characters") }
        let actor = context.principal?.auditActor.label ?? "unknown"
        let audit = context.audit(
            tenantID: access.tenantID, action: paused ? "tenant.pause" : "tenant.resume", targetType: "tenant",
            targetID: access.tenantID, details: reason.map { ["reason": $0] } ?? [:])
        guard let change = try await sendControl.set(.tenant(access.tenantID), paused: paused, actor: actor, reason: reason, audit: audit),
            case .tenant(let tenant) = change.state
        else {
            throw APIError.notFound("tenant")
        }
        return KillSwitchState(
            tenantId: tenant.id, paused: tenant.isPaused, pausedAt: tenant.pausedAt, pausedBy: tenant.pausedBy,
            reason: tenant.pauseReason, inFlight: change.drain?.inFlight, stillInFlight: change.drain?.stillInFlight,
            resumedJobs: change.resumedJobs)
    }
}

/// The body of `PATCH /tenants/{id}`. Hand-decoded so an explicit `null` for a
/// nullable field (remove the budget cap) differs from leaving it out.
struct TenantPatch: Decodable {
    var name: String?
    var timezone: String?
    var defaultCountry: String?
    var dailyBudgetCents: Int??
    var monthlyBudgetCents: Int??
    var quietHoursStart: String?
    var quietHoursEnd: String?
    var consentRequired: Bool?
    var helpText: String??
    var optOutFooter: String??
    var advancedOptOut: Bool?
    var allowFixedLineOrMobile: Bool?

    enum CodingKeys: String, CodingKey {
        case name, timezone, defaultCountry, dailyBudgetCents, monthlyBudgetCents, quietHoursStart, quietHoursEnd,
            consentRequired, helpText, optOutFooter, advancedOptOut, allowFixedLineOrMobile
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name)
        timezone = try c.decodeIfPresent(String.self, forKey: .timezone)
        defaultCountry = try c.decodeIfPresent(String.self, forKey: .defaultCountry)
        dailyBudgetCents = try c.decodeNullable(Int.self, forKey: .dailyBudgetCents)
        monthlyBudgetCents = try c.decodeNullable(Int.self, forKey: .monthlyBudgetCents)
        quietHoursStart = try c.decodeIfPresent(String.self, forKey: .quietHoursStart)
        quietHoursEnd = try c.decodeIfPresent(String.self, forKey: .quietHoursEnd)
        consentRequired = try c.decodeIfPresent(Bool.self, forKey: .consentRequired)
        helpText = try c.decodeNullable(String.self, forKey: .helpText)
        optOutFooter = try c.decodeNullable(String.self, forKey: .optOutFooter)
        advancedOptOut = try c.decodeIfPresent(Bool.self, forKey: .advancedOptOut)
        allowFixedLineOrMobile = try c.decodeIfPresent(Bool.self, forKey: .allowFixedLineOrMobile)
    }

    /// Checks every field and turns the patch into a store change.
    func validated() throws -> TenantSettingsChange {
        var change = TenantSettingsChange()
        if let name {
            let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...200).contains(trimmed.count) else { throw APIError.invalid("name", "1 to 200 characters") }
            change.name = trimmed
        }
        if let timezone {
            guard let zone = RecipientTimeZone.validatedIdentifier(timezone) else {
                throw APIError.invalid("timezone", "\"\(timezone)\" is not an IANA time zone: \(RecipientTimeZone.hint(for: timezone))")
            }
            change.timezone = zone
        }
        if let defaultCountry {
            guard let code = PhoneNumber.supportedCountry(defaultCountry) else {
                throw APIError.invalid("default_country", "a two-letter ISO country code whose numbers can be read, such as AU")
            }
            change.defaultCountry = code
        }
        for (field, value) in [("daily_budget_cents", dailyBudgetCents), ("monthly_budget_cents", monthlyBudgetCents)] {
            if case .some(.some(let cents)) = value, cents < 0 { throw APIError.invalid(field, "must be 0 or more, or null for no cap") }
        }
        change.dailyBudgetCents = dailyBudgetCents
        change.monthlyBudgetCents = monthlyBudgetCents
        if let quietHoursStart { change.quietHoursStart = try QuietHoursClock.minutes(quietHoursStart, field: "quiet_hours_start") }
        if let quietHoursEnd { change.quietHoursEnd = try QuietHoursClock.minutes(quietHoursEnd, field: "quiet_hours_end") }
        if let start = change.quietHoursStart, start == change.quietHoursEnd {
            throw APIError.invalid("quiet_hours_end", "must differ from quiet_hours_start")
        }
        change.consentRequired = consentRequired
        for (field, value) in [("help_text", helpText), ("opt_out_footer", optOutFooter)] {
            if case .some(.some(let text)) = value, text.count > 320 { throw APIError.invalid(field, "at most 320 characters") }
        }
        change.helpText = helpText
        change.optOutFooter = optOutFooter
        change.advancedOptOut = advancedOptOut
        change.allowFixedLineOrMobile = allowFixedLineOrMobile
        return change
    }
}

/// Quiet-hours times travel as "HH:MM" and are stored as minutes after midnight.
enum QuietHoursClock {
    static func minutes(_ text: String, field: String) throws -> Int {
        let parts = text.split(separator: ":")
        guard parts.count == 2, parts[0].count == 2, parts[1].count == 2, let h = Int(parts[0]), let m = Int(parts[1]),
            (0...23).contains(h), (0...59).contains(m)
        else { throw APIError.invalid(field, "a 24-hour time such as 21:00") }
        return h * 60 + m
    }
}
