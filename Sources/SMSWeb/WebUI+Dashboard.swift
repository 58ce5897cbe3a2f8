import Foundation
import Hummingbird
import SMSCore

/// The dashboard and the message log, from the same core reports the API serves.
extension WebUI {
    func dashboard<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        let report = try await insights.report(tenantID: page.tenant.id, campaignID: nil)
        let queueReport = try await QueueReport.make(postgres: postgres, queue: nil, tenantID: page.tenant.id)
        var values = layout("Dashboard", session: session, tenant: page, section: "dashboard")
        values["completed_today"] = queueReport.completedToday
        values["failed_today"] = queueReport.failedToday
        values["delivery_rate"] = Format.percent(report.deliveryRate.map { $0 * 100 })
        values["delivered_5min"] = Format.percent(report.deliveredWithin5MinPercent)
        values["opt_out_last_100"] = Format.percent(report.optOutRateLast100Percent)
        // docs/RUNBOOK.md: above 3 % opt-outs over the last 100 messages, stop and look at the content.
        values["opt_out_warning"] = (report.optOutRateLast100Percent ?? 0) > 3
        values["spend"] = Format.cents(report.spendCents)
        values["daily_budget"] = Format.cap(page.tenant.dailyBudgetCents) ?? "no cap"
        values["monthly_budget"] = Format.cap(page.tenant.monthlyBudgetCents) ?? "no cap"
        values["queue"] = [
            ["name": "pending", "count": queueReport.pending], ["name": "active", "count": queueReport.active],
            ["name": "delayed", "count": queueReport.delayed], ["name": "parked", "count": queueReport.parked],
            ["name": "dead", "count": queueReport.dead],
        ]
        values["paused"] = page.tenant.isPaused
        return renderer.page("dashboard", values)
    }

    func messageLog<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        let cursor = try request.uri.queryParameters.get("cursor").map { raw in
            guard let cursor = PageCursor(token: raw) else { throw WebError.badRequest("The page link is malformed.") }
            return cursor
        }
        let log = try await messages.list(tenantID: page.tenant.id, filter: MessageFilter(), cursor: cursor, limit: 50)
        var values = layout("Message log", session: session, tenant: page, section: "messages")
        values["messages"] = log.items.map(Self.messageRow)
        values["empty"] = log.items.isEmpty
        values["next_cursor"] = log.nextCursor
        return renderer.page("messages", values)
    }
}
