import Foundation
import Hummingbird
import SMSCore

/// Settings → Kill Switch → Pause Sending, exactly as docs/RUNBOOK.md tells operators.
/// Pausing and resuming call the core's one kill-switch operation,
/// ``SendControl/set(_:paused:actor:reason:audit:)``, like the API and the CLI.
extension WebUI {
    func settings<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        var values = layout("Settings", session: session, tenant: page, section: "settings")
        values["timezone"] = page.tenant.timezone
        values["country"] = page.tenant.defaultCountry
        values["daily_budget"] = Format.cap(page.tenant.dailyBudgetCents) ?? "no cap"
        values["monthly_budget"] = Format.cap(page.tenant.monthlyBudgetCents) ?? "no cap"
        values["quiet_hours"] = String(format: "%02d:00–%02d:00", page.tenant.quietHoursStart, page.tenant.quietHoursEnd)
        return renderer.page("settings", values)
    }

    func killSwitch<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: .viewer)
        var values = layout("Kill Switch", session: session, tenant: page, section: "settings")
        values["paused"] = page.tenant.isPaused
        values["paused_at"] = Format.dateTime(page.tenant.pausedAt)
        values["paused_by"] = page.tenant.pausedBy
        values["reason"] = page.tenant.pauseReason
        values["can_pause"] = page.role >= .member
        values["can_resume"] = page.role >= .admin
        if let notice = request.uri.queryParameters.get("done") {
            values["notice"] = notice == "paused" ? "Sending is paused." : notice == "resumed" ? "Sending resumed." : nil
        }
        return renderer.page("kill_switch", values)
    }

    /// Pause: member and up; resume: admin and up (as the API's `POST /tenants/{id}/pause|resume`).
    func setPaused<Context: WebRequestContext>(_ paused: Bool, _ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let page = try await tenantPage(context, session, minimum: paused ? .member : .admin)
        let form = try await checkedForm(request, session: session)
        let reason = form["reason"].map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.flatMap { $0.isEmpty ? nil : String($0.prefix(500)) }
        let tenantID = page.tenant.id
        let audit = audit(
            context, session: session, tenantID: tenantID, action: paused ? "tenant.pause" : "tenant.resume", targetType: "tenant",
            targetID: tenantID, details: reason.map { ["reason": $0] } ?? [:])
        guard try await sendControl.set(.tenant(tenantID), paused: paused, actor: session.email, reason: reason, audit: audit) != nil else {
            throw WebError.notFound
        }
        return redirect("/ui/t/\(tenantID)/settings/kill-switch?done=\(paused ? "paused" : "resumed")")
    }
}
