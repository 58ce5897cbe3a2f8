import Foundation
import HTTPTypes
import HummingbirdTesting
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Sessions, keys and CSRF")
struct AuthTests {
    @Test("login sets an HttpOnly SameSite=Lax session cookie that /me accepts, and logout ends it")
    func loginMeLogout() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .member, in: tenant)
        try await api.test { client in
            let login = try await client.executeRequest(
                uri: "/auth/login", method: .post, headers: [.contentType: "application/json"],
                body: json(["email": user.email.uppercased(), "password": APIHarness.password]))
            let cookie = try #require(login.headers[.setCookie])
            #expect(login.status == .ok)
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Lax"))
            #expect(!cookie.contains("Secure"))  // PUBLIC_BASE_URL is http here
            let session = Credential.cookie(String(cookie.split(separator: ";")[0]))

            let me = try await client.call(.get, "/me", as: session)
            #expect(me.status == .ok)
            #expect(((me.object["user"] as? [String: Any])?["email"] as? String) == user.email)
            #expect(((me.object["tenants"] as? [[String: Any]])?.first?["role"] as? String) == "member")

            let logout = try await client.call(.post, "/auth/logout", as: session)
            #expect(logout.status == .noContent)
            #expect(try await client.call(.get, "/me", as: session).status == .unauthorized)
        }
        await api.shutdown()
    }

    @Test("a wrong password and an unknown email get the same 401")
    func wrongCredentials() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .viewer, in: tenant)
        try await api.test { client in
            let wrong = try await client.call(.post, "/auth/login", as: .none, json: ["email": user.email, "password": "nope"])
            let unknown = try await client.call(.post, "/auth/login", as: .none, json: ["email": "ghost@example.com", "password": "nope"])
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            #expect(wrong.errorCode == unknown.errorCode)
        }
        await api.shutdown()
    }

    @Test("sessions expire when idle and at their absolute limit")
    func sessionExpiry() async throws {
        let api = try await APIHarness.make(policy: SessionPolicy(idle: .seconds(1), absolute: .seconds(3600), bcryptCost: 4))
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .viewer, in: tenant)
        try await api.test { client in
            let idle = Credential.cookie(try await api.login(user, client: client))
            #expect(try await client.call(.get, "/me", as: idle).status == .ok)
            try await Task.sleep(for: .milliseconds(1500))
            #expect(try await client.call(.get, "/me", as: idle).status == .unauthorized)

            let absolute = Credential.cookie(try await api.login(user, client: client))
            try await api.services.postgres.query("UPDATE sessions SET expires_at = now(), idle_expires_at = now()")
            #expect(try await client.call(.get, "/me", as: absolute).status == .unauthorized)
        }
        await api.shutdown()
    }

    @Test("failed logins are throttled per email with 429 and Retry-After, even for the right password")
    func loginThrottle() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .viewer, in: tenant)
        try await api.test { client in
            for _ in 0..<5 {
                let failed = try await client.call(.post, "/auth/login", as: .none, json: ["email": user.email, "password": "bad"])
                #expect(failed.status == .unauthorized)
            }
            let blocked = try await client.call(
                .post, "/auth/login", as: .none, json: ["email": user.email, "password": APIHarness.password])
            #expect(blocked.status == .tooManyRequests)
            #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 > 0)
        }
        await api.shutdown()
    }

    @Test("a cookie-authenticated POST from a foreign Origin is refused; the same with the site's Origin or an API key is not")
    func csrfRefusal() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .member, in: tenant)
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(user, client: client))
            let forged = try await client.call(
                .post, "/tenants/\(tenant.id)/pause", as: session, headers: [.origin: "https://evil.example"])
            #expect(forged.status == .forbidden)
            #expect(forged.errorCode == "csrf_rejected")
            #expect(try await api.tenants.find(id: tenant.id)?.isPaused == false)

            let sameSite = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: session, headers: [.origin: "http://api.test"])
            #expect(sameSite.status == .ok)
            let byKey = try await client.call(.post, "/tenants/\(tenant.id)/pause", as: .bearer(key), headers: [.origin: "https://evil.example"])
            #expect(byKey.status == .ok)
        }
        await api.shutdown()
    }

    @Test("an API key's secret is shown once, works as a bearer token, and stops working when revoked")
    func apiKeyLifecycle() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            let created = try await client.call(.post, "/tenants/\(tenant.id)/api-keys", as: .bearer(admin), json: ["name": "CRM sync", "role": "member"])
            #expect(created.status == .created)
            let secret = try #require(created.object["secret"] as? String)
            let keyID = try #require((created.object["api_key"] as? [String: Any])?["id"] as? String)

            let listing = try await client.call(.get, "/tenants/\(tenant.id)/api-keys", as: .bearer(admin))
            #expect(!String(buffer: listing.body).contains(secret))
            let stored = try await api.services.postgres.query("SELECT key_hash FROM api_keys WHERE id = $1::uuid", keyID)
            #expect(try stored[0].decode("key_hash", as: String.self) == Secrets.sha256Hex(secret))

            #expect(try await client.call(.get, "/tenants/\(tenant.id)", as: .bearer(secret)).status == .ok)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/api-keys/\(keyID)", as: .bearer(admin)).status == .ok)
            let revoked = try await client.call(.get, "/tenants/\(tenant.id)", as: .bearer(secret))
            #expect(revoked.status == .unauthorized)
            #expect(revoked.errorCode == "invalid_api_key")
        }
        await api.shutdown()
    }

    @Test("a key cannot mint a key with more power than its own")
    func noEscalationThroughKeys() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            let response = try await client.call(.post, "/tenants/\(tenant.id)/api-keys", as: .bearer(admin), json: ["name": "x", "role": "owner"])
            #expect(response.status == .forbidden)
        }
        await api.shutdown()
    }
}
