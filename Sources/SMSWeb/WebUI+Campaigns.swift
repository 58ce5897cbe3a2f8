import Foundation
import HTTPTypes
import Hummingbird
import SMSCore

/// The campaign list with live progress, a campaign's page, and its pause,
/// resume and cancel through ``SendControl``.
extension WebUI {
    /// htmx stops polling an element whose answer has this status.
    static let stopPolling = HTTPResponse.Status(code: 286, reasonPhrase: "Stop Polling")

    func campaignList<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        let cursor = try request.uri.queryParameters.get("cursor").map { raw in
            guard let cursor = PageCursor(token: raw) else { throw WebError.badRequest("The page link is malformed.") }
            return cursor
        }
        let list = try await campaigns.list(tenantID: page.tenant.id, status: nil, cursor: cursor, limit: 50)
        var rows: [[String: Any]] = []
        for campaign in list.items {
            let progress = try await progressValues(tenantID: page.tenant.id, campaign: campaign)
            rows.append(
                progress.merging([
                    "id": campaign.id, "name": campaign.name, "status": campaign.status.rawValue,
                    "created_at": Format.dateTime(campaign.createdAt) ?? "",
                ]) { $1 })
        }
        var values = layout("Campaigns", session: session, tenant: page, section: "campaigns")
        values["campaigns"] = rows
        values["empty"] = rows.isEmpty
        values["next_cursor"] = list.nextCursor
        return renderer.page("campaigns", values)
    }

    func campaignDetail<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        guard let campaign = try await campaigns.find(tenantID: page.tenant.id, id: try campaignID(context)) else { throw WebError.notFound }
        let stats = try await insights.stats(tenantID: page.tenant.id, campaign: campaign)
        var values = layout(campaign.name, session: session, tenant: page, section: "campaigns")
        values["campaign"] = [
            "id": campaign.id, "name": campaign.name, "status": campaign.status.rawValue, "body": campaign.bodyTemplate,
            "launched_at": Format.dateTime(campaign.launchedAt) as Any, "paused_at": Format.dateTime(campaign.pausedAt) as Any,
            "completed_at": Format.dateTime(campaign.completedAt) as Any,
        ]
        values["progress"] = try await progressValues(tenantID: page.tenant.id, campaign: campaign, stats: stats)
        values["statuses"] = stats.jobs.sorted { $0.key < $1.key }.map { ["status": $0.key, "count": $0.value] }
        values["failure_reasons"] = stats.failureReasons.map { ["reason": $0.reason, "count": $0.count] }
        values["has_failures"] = !stats.failureReasons.isEmpty
        values["delivery_rate"] = Format.percent(stats.deliveryRate.map { $0 * 100 })
        values["delivered_5min"] = Format.percent(stats.deliveredWithin5MinPercent)
        values["spend"] = Format.cents(stats.spendCents)
        let member = page.role >= .member
        values["can_pause"] = member && campaign.status == .running
        values["can_resume"] = member && campaign.status == .paused
        values["can_cancel"] = member && [.draft, .scheduled, .running, .paused].contains(campaign.status)
        if let notice = request.uri.queryParameters.get("done") { values["notice"] = "Campaign \(notice)." }
        let log = try await messages.list(tenantID: page.tenant.id, filter: MessageFilter(campaignID: campaign.id), cursor: nil, limit: 20)
        values["messages"] = log.items.map(Self.messageRow)
        values["no_messages"] = log.items.isEmpty
        return renderer.page("campaign", values)
    }

    /// The progress cell that the list and the detail page poll (`hx-trigger="every 3s"`).
    /// A finished campaign answers 286, so htmx stops polling it.
    func campaignProgress<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        guard let campaign = try await campaigns.find(tenantID: page.tenant.id, id: try campaignID(context)) else { throw WebError.notFound }
        var values = try await progressValues(tenantID: page.tenant.id, campaign: campaign)
        values["tenant"] = ["id": page.tenant.id]
        values["id"] = campaign.id
        values["status"] = campaign.status.rawValue
        return renderer.page("campaign_progress", values, status: campaign.status.isFinished ? Self.stopPolling : .ok)
    }

    func applyToCampaign<Context: WebRequestContext>(
        _ transition: CampaignStore.Transition, _ request: Request, context: Context
    ) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .member)
        _ = try await checkedForm(request, session: session)
        let id = try campaignID(context)
        let audit = audit(
            context, session: session, tenantID: page.tenant.id, action: "campaign.\(transition.rawValue)", targetType: "campaign", targetID: id)
        let change: KillSwitchChange?
        do {
            switch transition {
            case .pause, .resume:
                change = try await sendControl.set(
                    .campaign(tenantID: page.tenant.id, campaignID: id), paused: transition == .pause, actor: session.email, reason: nil, audit: audit)
            case .cancel:
                change = try await sendControl.cancel(tenantID: page.tenant.id, campaignID: id, actor: session.email, audit: audit)
            }
        } catch CampaignError.wrongStatus(let status, _) {
            throw WebError.badRequest("This campaign is \(status.rawValue), so it cannot be \(transition.pastTense).")
        }
        guard change != nil else { throw WebError.notFound }
        return redirect("/ui/t/\(page.tenant.id)/campaigns/\(id)?done=\(transition.pastTense)")
    }

    /// Jobs done (final or sent) out of all, for `<progress>`; `polling` while the campaign can still move.
    func progressValues(tenantID: String, campaign: Campaign, stats: CampaignStats? = nil) async throws -> [String: Any] {
        var values: [String: Any] = ["polling": !campaign.status.isFinished && campaign.status != .draft]
        guard campaign.status != .draft else { return values.merging(["total": 0, "done": 0, "percent": "0"]) { $1 } }
        let stats = if let stats { stats } else { try await insights.stats(tenantID: tenantID, campaign: campaign) }
        let done = stats.jobs.filter { JobStatus(rawValue: $0.key).map { JobStatus.final.contains($0) || $0 == .sent } ?? false }
            .values.reduce(0, +)
        let percent = stats.totalJobs > 0 ? Double(done) * 100 / Double(stats.totalJobs) : 0
        values["total"] = stats.totalJobs
        values["done"] = done
        values["percent"] = String(format: "%.0f", percent)
        return values
    }

    static func messageRow(_ entry: MessageLogEntry) -> [String: Any] {
        [
            "direction": entry.direction.rawValue, "kind": entry.kind.rawValue, "to": entry.to, "from": entry.from, "body": entry.body,
            "status": entry.status ?? "", "failure_reason": entry.failureReason ?? "", "created_at": Format.dateTime(entry.createdAt) ?? "",
        ]
    }
}

extension CampaignStore.Transition {
    var pastTense: String {
        switch self {
        case .pause: "paused"
        case .resume: "resumed"
        case .cancel: "cancelled"
        }
    }
}
