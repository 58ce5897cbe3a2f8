import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSAPI
import SMSCore
import SMSWeb
import Testing
import TestSupport

/// The admin UI (SMSWeb) as the API mounts it: pages, headers, sessions, tenant walls, CSRF.
@Suite("Web UI", .serialized)
struct WebUITests {
    /// A tenant with a draft campaign, and a logged-in user of each role.
    struct Fixture {
        let harness: APIHarness
        let tenant: Tenant
        let campaignID: String
        let cookies: [Role: String]
        let emails: [Role: String]
    }

    static func fixture() async throws -> Fixture {
        let harness = try await APIHarness.make()
        let tenant = try await harness.makeTenant()
        var users: [Role: User] = [:]
        for role in Role.allCases { users[role] = try await harness.makeUser(role: role, in: tenant) }
        var fields = CampaignFields()
        fields.name = "Spring <sale>"
        fields.bodyTemplate = "Hi"
        let campaign = try await CampaignStore(postgres: harness.services.postgres).create(
            tenantID: tenant.id, fields: fields, createdBy: nil, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "campaign.create"))
        var cookies: [Role: String] = [:]
        for (role, user) in users {
            let (_, token) = try await harness.identity.login(email: user.email, password: APIHarness.password, ip: nil, userAgent: nil)
            cookies[role] = "session_id=\(token)"
        }
        return Fixture(
            harness: harness, tenant: tenant, campaignID: campaign.id, cookies: cookies, emails: users.mapValues(\.email))
    }

    static func pages(_ fixture: Fixture) -> [String] {
        let base = "/ui/t/\(fixture.tenant.id)"
        return [
            "/ui/tenants", base, "\(base)/settings", "\(base)/settings/kill-switch", "\(base)/campaigns",
            "\(base)/campaigns/\(fixture.campaignID)", "\(base)/messages",
        ]
    }

    /// The form's hidden `csrf` value in a page.
    static func csrf(in html: String) -> String? {
        guard let range = html.range(of: #"name="csrf" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    static func form(_ fields: [String: String]) -> ByteBuffer {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return ByteBuffer(
            string: fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }.joined(separator: "&"))
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    @Test("every page renders for every role, with one h1, escaped values and the UI's own security headers")
    func everyPageForEveryRole() async throws {
        let fixture = try await Self.fixture()
        try await fixture.harness.testWithUI { client in
            for role in Role.allCases {
                for page in Self.pages(fixture) {
                    let response = try await client.call(.get, page, as: .cookie(fixture.cookies[role]!))
                    let html = String(buffer: response.body)

                    #expect(response.status == .ok, "\(role) \(page): \(response.status)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    let csp = response.headers[.contentSecurityPolicy] ?? ""
                    #expect(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"))
                    #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "same-origin")
                    #expect(html.components(separatedBy: "<h1").count == 2, "\(role) \(page) must have one h1")
                    #expect(!html.contains("Spring <sale>"), "values must be HTML-escaped")
                    #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style")
                }
            }
        }
        await fixture.harness.shutdown()
    }

    @Test("another tenant's page is a 404 page with the request id, like a tenant that does not exist")
    func tenantWall() async throws {
        let fixture = try await Self.fixture()
        let other = try await fixture.harness.makeTenant()
        try await fixture.harness.testWithUI { client in
            for path in ["/ui/t/\(other.id)", "/ui/t/\(other.id)/settings/kill-switch", "/ui/t/\(UUID().uuidString)/campaigns"] {
                let response = try await client.call(.get, path, as: .cookie(fixture.cookies[.owner]!))
                let html = String(buffer: response.body)

                #expect(response.status == .notFound, "\(path)")
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let requestID = try #require(response.headers[HTTPField.Name("X-Request-Id")!])
                #expect(html.contains(requestID))
            }
        }
        await fixture.harness.shutdown()
    }

    @Test("without a session a page redirects to the login page, and logging in there leads back to it")
    func loginAndBack() async throws {
        let fixture = try await Self.fixture()
        let page = "/ui/t/\(fixture.tenant.id)/campaigns"
        try await fixture.harness.testWithUI { client in
            let anonymous = try await client.call(.get, page, as: .none)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/ui/login?next=\(page)")

            let form = try await client.call(.get, "/ui/login?next=\(page)", as: .none)
            let loginCookie = try #require(form.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            let token = try #require(Self.csrf(in: String(buffer: form.body)))
            var headers = Self.formHeaders
            headers[.cookie] = loginCookie
            let login = try await client.executeRequest(
                uri: "/ui/login", method: .post, headers: headers,
                body: Self.form(["csrf": token, "next": page, "email": fixture.emails[.viewer]!, "password": APIHarness.password]))

            #expect(login.status == .seeOther)
            #expect(login.headers[.location] == page)
            let session = try #require(login.headers[values: .setCookie].first { $0.hasPrefix("session_id=") })
            let after = try await client.call(.get, page, as: .cookie(String(session.split(separator: ";")[0])))
            #expect(after.status == .ok)
        }
        await fixture.harness.shutdown()
    }

    @Test("the login form is refused without its CSRF token")
    func loginNeedsCSRF() async throws {
        let fixture = try await Self.fixture()
        try await fixture.harness.testWithUI { client in
            let response = try await client.executeRequest(
                uri: "/ui/login", method: .post, headers: Self.formHeaders,
                body: Self.form(["email": fixture.emails[.owner]!, "password": APIHarness.password]))

            #expect(response.status == .forbidden)
            #expect(response.headers[.setCookie] == nil)
        }
        await fixture.harness.shutdown()
    }

    @Test("Pause Sending on the Kill Switch page pauses the tenant through SendControl and shows who paused it")
    func killSwitchPause() async throws {
        let fixture = try await Self.fixture()
        let page = "/ui/t/\(fixture.tenant.id)/settings/kill-switch"
        let cookie = fixture.cookies[.member]!
        try await fixture.harness.testWithUI { client in
            let before = try await client.call(.get, page, as: .cookie(cookie))
            let token = try #require(Self.csrf(in: String(buffer: before.body)))
            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let pause = try await client.executeRequest(
                uri: page + "/pause", method: .post, headers: headers, body: Self.form(["csrf": token, "reason": "3 a.m. test"]))
            let after = try await client.call(.get, page, as: .cookie(cookie))
            let html = String(buffer: after.body)

            #expect(pause.status == .seeOther)
            #expect(html.contains("Sending is paused."))
            #expect(html.contains("Paused by \(fixture.emails[.member]!)"))
            #expect(html.contains("3 a.m. test"))
        }
        let tenant = try await fixture.harness.tenants.find(id: fixture.tenant.id)
        #expect(tenant?.isPaused == true)
        #expect(tenant?.pausedBy == fixture.emails[.member]!)
        await fixture.harness.shutdown()
    }

    @Test("a post without the CSRF token is refused and changes nothing")
    func postWithoutCSRF() async throws {
        let fixture = try await Self.fixture()
        try await fixture.harness.testWithUI { client in
            var headers = Self.formHeaders
            headers[.cookie] = fixture.cookies[.owner]!
            let response = try await client.executeRequest(
                uri: "/ui/t/\(fixture.tenant.id)/settings/kill-switch/pause", method: .post, headers: headers, body: Self.form(["reason": "x"]))

            #expect(response.status == .forbidden)
            #expect(String(buffer: response.body).contains("security token"))
        }
        #expect(try await fixture.harness.tenants.find(id: fixture.tenant.id)?.isPaused == false)
        await fixture.harness.shutdown()
    }

    @Test("a viewer sees no Pause Sending button, and a forged pause from a viewer is refused")
    func viewerCannotPause() async throws {
        let fixture = try await Self.fixture()
        let page = "/ui/t/\(fixture.tenant.id)/settings/kill-switch"
        let cookie = fixture.cookies[.viewer]!
        try await fixture.harness.testWithUI { client in
            let view = try await client.call(.get, page, as: .cookie(cookie))
            let html = String(buffer: view.body)
            // The viewer's own token, from the logout form every page carries: a valid token is not enough.
            let token = try #require(Self.csrf(in: html))
            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let forged = try await client.executeRequest(uri: page + "/pause", method: .post, headers: headers, body: Self.form(["csrf": token]))

            #expect(!html.contains("Pause Sending"))
            #expect(forged.status == .forbidden)
        }
        #expect(try await fixture.harness.tenants.find(id: fixture.tenant.id)?.isPaused == false)
        await fixture.harness.shutdown()
    }

    @Test("a cancelled campaign's progress answers 286 without a poll trigger, so htmx stops polling")
    func progressStopsPollingWhenFinished() async throws {
        let fixture = try await Self.fixture()
        let cookie = fixture.cookies[.member]!
        let progress = "/ui/t/\(fixture.tenant.id)/campaigns/\(fixture.campaignID)/progress"
        try await fixture.harness.testWithUI { client in
            let detail = try await client.call(.get, "/ui/t/\(fixture.tenant.id)/campaigns/\(fixture.campaignID)", as: .cookie(cookie))
            let token = try #require(Self.csrf(in: String(buffer: detail.body)))
            var headers = Self.formHeaders
            headers[.cookie] = cookie
            let cancel = try await client.executeRequest(
                uri: "/ui/t/\(fixture.tenant.id)/campaigns/\(fixture.campaignID)/cancel", method: .post, headers: headers,
                body: Self.form(["csrf": token]))
            let response = try await client.call(.get, progress, as: .cookie(cookie))

            #expect(cancel.status == .seeOther)
            #expect(response.status.code == 286)
            #expect(!String(buffer: response.body).contains("hx-trigger"))
        }
        await fixture.harness.shutdown()
    }

    @Test("/ leads to /ui, and assets are served from memory with a cache header")
    func rootAndAssets() async throws {
        let fixture = try await Self.fixture()
        try await fixture.harness.testWithUI { client in
            let root = try await client.call(.get, "/", as: .none)
            let htmx = try await client.call(.get, "/assets/vendor/htmx.min.js", as: .none)
            let css = try await client.call(.get, "/assets/app.css", as: .none)
            let missing = try await client.call(.get, "/assets/vendor/nope.js", as: .none)

            #expect(root.status == .found && root.headers[.location] == "/ui")
            #expect(htmx.status == .ok && htmx.headers[.cacheControl] == "public, max-age=3600")
            #expect(htmx.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(css.status == .ok)
            #expect(missing.status == .notFound)
        }
        await fixture.harness.shutdown()
    }

    @Test("an altered or missing locked asset stops the UI from loading, naming the file and the fix")
    func alteredAssetRefused() async throws {
        let source = ProcessInfo.processInfo.environment["WEB_DIR"] ?? TestEnvironment.packageRoot + "/web"
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("web-\(UUID().uuidString)").path
        try FileManager.default.copyItem(atPath: source, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try Data("alert(1)".utf8).write(to: URL(fileURLWithPath: copy + "/vendor/htmx.min.js"))
        try FileManager.default.removeItem(atPath: copy + "/vendor/pico.min.css")

        let error = await #expect(throws: WebSetupError.self) { try await WebFiles.load(directory: copy) }

        #expect(error?.description.contains("htmx.min.js has sha256") == true)
        #expect(error?.description.contains("pico.min.css is missing") == true)
        #expect(error?.description.contains("scripts/web-assets.sh") == true)
    }
}
