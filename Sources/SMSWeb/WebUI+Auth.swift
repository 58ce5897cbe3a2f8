import Foundation
import HTTPTypes
import Hummingbird
import SMSCore

/// Login, logout and the tenant switcher.
extension WebUI {
    func home<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let visible = try await visibleTenants(session)
        if visible.count == 1, let only = visible.first { return redirect("/ui/t/\(only.id)") }
        return redirect("/ui/tenants")
    }

    func loginPage<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let next = Self.safeNext(request.uri.queryParameters.get("next"))
        if context.principal != nil, context.authenticatedByCookie { return redirect(next) }
        return loginForm(request, next: next, error: nil, status: .ok)
    }

    /// The login form, bound to a random pre-session cookie so its CSRF token cannot be forged.
    private func loginForm(_ request: Request, next: String, error: String?, status: HTTPResponse.Status) -> Response {
        let existing = Cookies.value(named: CSRFToken.loginCookie, in: request.headers)
        let secret = existing ?? Secrets.randomToken()
        var headers: HTTPFields = [:]
        if existing == nil {
            headers[.setCookie] =
                "\(CSRFToken.loginCookie)=\(secret); Path=/ui; Max-Age=3600; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")
        }
        var values = layout("Log in", session: nil)
        values["csrf"] = CSRFToken.make(secret: secret, purpose: CSRFToken.loginPurpose)
        values["next"] = next
        if let error { values["error"] = error }
        return renderer.page("login", values, status: status, headers: headers)
    }

    func login<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let form = try await FormBody.read(request)
        let next = Self.safeNext(form["next"])
        guard let secret = Cookies.value(named: CSRFToken.loginCookie, in: request.headers),
            CSRFToken.isValid(form["csrf"], secret: secret, purpose: CSRFToken.loginPurpose)
        else { throw WebError.csrfRejected }
        let email = form["email"]?.trimmingCharacters(in: .whitespaces) ?? ""
        let password = form["password"] ?? ""
        guard !email.isEmpty, !password.isEmpty else {
            return loginForm(request, next: next, error: "Enter your email and password.", status: .badRequest)
        }
        let token: String
        switch try await throttle.login(
            identity: identity, email: email, password: password, ip: context.remoteIP, userAgent: request.headers[.userAgent])
        {
        case .throttled(let wait):
            return loginForm(request, next: next, error: "Too many failed logins; try again in \(wait) seconds.", status: .tooManyRequests)
        case .invalidCredentials:
            return loginForm(request, next: next, error: "Wrong email or password.", status: .unauthorized)
        case .loggedIn(_, let issued):
            token = issued
        }
        var response = redirect(next)
        response.headers.append(HTTPField(name: .setCookie, value: SessionCookie.set(token, maxAge: identity.policy.absolute, secure: secureCookies)))
        response.headers.append(
            HTTPField(name: .setCookie, value: "\(CSRFToken.loginCookie)=; Path=/ui; Max-Age=0; HttpOnly; SameSite=Strict" + (secureCookies ? "; Secure" : "")))
        return response
    }

    func logout<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        _ = try await checkedForm(request, session: session)
        try await identity.logout(sessionToken: session.token)
        var response = redirect("/ui/login")
        response.headers[.setCookie] = SessionCookie.clear(secure: secureCookies)
        return response
    }

    func tenantSwitcher<Context: WebRequestContext>(_ request: Request, context: Context) async throws -> Response {
        let session = try session(request, context)
        let visible = try await visibleTenants(session)
        var values = layout("Choose a tenant", session: session)
        values["tenants"] = visible.map { ["id": $0.id, "name": $0.name, "role": $0.role.rawValue] }
        values["none"] = visible.isEmpty
        return renderer.page("tenants", values)
    }

    /// Members see their tenants; platform admins see every tenant.
    func visibleTenants(_ session: WebSession) async throws -> [(id: String, name: String, role: Role)] {
        let list = session.isPlatformAdmin ? try await tenants.listAll() : try await tenants.list(ids: Array(session.principal.roles.keys))
        return list.map { (id: $0.id, name: $0.name, role: session.principal.role(in: $0.id) ?? .viewer) }
    }

    /// Only paths inside the UI are followed after login (no open redirect to another site).
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/ui"), !next.hasPrefix("//"), !next.contains("\\"), !next.hasPrefix("/ui/login") else {
            return "/ui"
        }
        return next
    }
}
