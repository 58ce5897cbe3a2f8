import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Postgres
import Redis
import SMSCore

/// The templates and assets under `WEB_DIR`, loaded and checked once at start-up.
public struct WebFiles: Sendable {
    let renderer: PageRenderer
    let assets: StaticAssets

    /// - Throws: ``WebSetupError`` when a template folder or a locked asset is missing or altered
    ///   (the message says to run `scripts/web-assets.sh`), or a template does not parse.
    public static func load(directory: String) async throws -> WebFiles {
        let assets = try StaticAssets.load(webDirectory: directory)
        return WebFiles(renderer: try await PageRenderer.load(templatesDirectory: directory + "/templates"), assets: assets)
    }
}

/// The admin web UI: server-rendered pages under `/ui`, its files under
/// `/assets`, and `/` → `/ui`. Mounted by the API on its own router, so the
/// session cookie, the authentication middleware and the tenant walls are the
/// API's (docs/ARCHITECTURE.md, "The admin web UI").
public struct WebUI: Sendable {
    let files: WebFiles
    let identity: IdentityStore
    let tenants: TenantStore
    let throttle: LoginThrottle
    let sendControl: SendControl
    let campaigns: CampaignStore
    let insights: CampaignInsights
    let messages: MessageLog
    let postgres: PostgresClient
    let queue: SendQueue
    let secureCookies: Bool

    public init(files: WebFiles, services: AppServices, sendControl: SendControl) {
        self.files = files
        identity = IdentityStore(postgres: services.postgres, policy: services.sessionPolicy)
        tenants = TenantStore(postgres: services.postgres)
        throttle = LoginThrottle(redis: services.redis)
        self.sendControl = sendControl
        campaigns = CampaignStore(postgres: services.postgres)
        insights = CampaignInsights(postgres: services.postgres)
        messages = MessageLog(postgres: services.postgres)
        postgres = services.postgres
        queue = SendQueue(redis: services.redis)
        secureCookies = services.configuration.publicBaseURL.lowercased().hasPrefix("https://")
    }

    var renderer: PageRenderer { files.renderer }

    public func addRoutes<Context: WebRequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in Response(status: .found, headers: [.location: "/ui"]) }
        router.get("assets/**") { request, _ in
            let path = String(request.uri.path.dropFirst("/assets/".count))
            guard let response = files.assets.response(for: path, request: request) else { throw HTTPError(.notFound) }
            return response
        }
        let ui = router.group("ui").add(middleware: WebPageMiddleware<Context>(renderer: renderer))
        ui.get { request, context in try await home(request, context: context) }
        ui.get("login") { request, context in try await loginPage(request, context: context) }
        ui.post("login") { request, context in try await login(request, context: context) }
        ui.post("logout") { request, context in try await logout(request, context: context) }
        ui.get("tenants") { request, context in try await tenantSwitcher(request, context: context) }
        ui.get("t/:tenantId") { request, context in try await dashboard(request, context: context) }
        ui.get("t/:tenantId/settings") { request, context in try await settings(request, context: context) }
        ui.get("t/:tenantId/settings/kill-switch") { request, context in try await killSwitch(request, context: context) }
        ui.post("t/:tenantId/settings/kill-switch/pause") { request, context in try await setPaused(true, request, context: context) }
        ui.post("t/:tenantId/settings/kill-switch/resume") { request, context in try await setPaused(false, request, context: context) }
        ui.get("t/:tenantId/campaigns") { request, context in try await campaignList(request, context: context) }
        ui.get("t/:tenantId/campaigns/:campaignId") { request, context in try await campaignDetail(request, context: context) }
        ui.get("t/:tenantId/campaigns/:campaignId/progress") { request, context in try await campaignProgress(request, context: context) }
        for transition in [CampaignStore.Transition.pause, .resume, .cancel] {
            ui.post("t/:tenantId/campaigns/:campaignId/\(transition.rawValue)") { request, context in
                try await applyToCampaign(transition, request, context: context)
            }
        }
        ui.get("t/:tenantId/messages") { request, context in try await messageLog(request, context: context) }
        ui.get("**") { _, _ -> Response in throw WebError.notFound }
    }
}

// MARK: Sessions, tenant walls, CSRF

/// The logged-in user behind a UI request.
struct WebSession {
    var principal: Principal
    var email: String
    var isPlatformAdmin: Bool
    /// The raw session token: the CSRF token's key.
    var token: String
    var csrf: String { CSRFToken.make(secret: token, purpose: CSRFToken.sessionPurpose) }
}

/// A tenant page's tenant and the viewer's role there.
struct TenantPage {
    var tenant: Tenant
    var role: Role
}

extension WebUI {
    func session<Context: WebRequestContext>(_ request: Request, _ context: Context) throws -> WebSession {
        guard let principal = context.principal, context.authenticatedByCookie, case .user(let email, let admin) = principal.kind,
            let token = SessionCookie.value(in: request.headers)
        else {
            var next = request.uri.path
            if let query = request.uri.query, !query.isEmpty { next += "?" + query }
            throw WebError(kind: .loginRequired(next: next))
        }
        return WebSession(principal: principal, email: email, isPlatformAdmin: admin, token: token)
    }

    /// The `:tenantId` page's tenant: a 404 page when the user may not see it at
    /// all (exactly like a tenant that does not exist), a 403 page when the role is too low.
    func tenantPage<Context: WebRequestContext>(_ context: Context, _ session: WebSession, minimum: Role) async throws -> TenantPage {
        guard let raw = context.parameters.get("tenantId"), let uuid = UUID(uuidString: raw) else { throw WebError.notFound }
        let id = uuid.uuidString.lowercased()
        guard let role = session.principal.role(in: id) else { throw WebError.notFound }
        guard let tenant = try await tenants.find(id: id) else { throw WebError.notFound }
        guard role >= minimum else { throw WebError.forbidden }
        return TenantPage(tenant: tenant, role: role)
    }

    func campaignID<Context: WebRequestContext>(_ context: Context) throws -> String {
        guard let raw = context.parameters.get("campaignId"), let uuid = UUID(uuidString: raw) else { throw WebError.notFound }
        return uuid.uuidString.lowercased()
    }

    /// A form post must carry the session's CSRF token (field `csrf`, or htmx's header).
    func checkedForm(_ request: Request, session: WebSession) async throws -> FormBody {
        let form = try await FormBody.read(request)
        let submitted = form["csrf"] ?? request.headers[HTTPField.Name(CSRFToken.header)!]
        guard CSRFToken.isValid(submitted, secret: session.token, purpose: CSRFToken.sessionPurpose) else { throw WebError.csrfRejected }
        return form
    }

    /// What the layout shows on every page.
    func layout(_ title: String, session: WebSession?, tenant: TenantPage? = nil, section: String? = nil) -> [String: Any] {
        var values: [String: Any] = ["title": title]
        if let session {
            values["user"] = ["email": session.email, "platform_admin": session.isPlatformAdmin]
            values["csrf"] = session.csrf
        }
        if let tenant {
            values["tenant"] = [
                "id": tenant.tenant.id, "name": tenant.tenant.name, "role": tenant.role.rawValue,
                "paused": tenant.tenant.isPaused,
            ]
            if let section { values["section_" + section] = true }
        }
        return values
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    func audit<Context: WebRequestContext>(
        _ context: Context, session: WebSession, tenantID: String, action: String, targetType: String, targetID: String,
        details: [String: String] = [:]
    ) -> AuditEntry {
        AuditEntry(
            tenantID: tenantID, actor: session.principal.auditActor, action: action, targetType: targetType, targetID: targetID,
            details: details, ip: context.remoteIP, requestID: context.requestID)
    }
}

// MARK: Formatting for templates

enum Format {
    /// The API's RFC 3339 form (SMSCore's one formatter), to the second.
    static func dateTime(_ date: Date?) -> String? {
        guard let date else { return nil }
        return String(rfc3339(date).prefix(19)).replacingOccurrences(of: "T", with: " ") + " UTC"
    }

    static func percent(_ value: Double?) -> String {
        guard let value else { return "—" }
        return String(format: "%.1f %%", value)
    }

    static func cents(_ value: Decimal?) -> String {
        guard let value else { return "—" }
        let dollars = NSDecimalNumber(decimal: value / 100).doubleValue
        return String(format: "$%.2f", dollars)
    }

    /// A budget cap in cents; nil when there is none.
    static func cap(_ value: Int?) -> String? {
        value.map { cents(Decimal($0)) }
    }
}
