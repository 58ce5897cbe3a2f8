import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SMSCore
import Testing
import TestSupport

@Suite("Rate limits, security headers, Server-Timing")
struct ProtectionTests {
    @Test("an API key is limited per minute with 429, Retry-After and RateLimit headers; another key is not affected")
    func perKeyLimit() async throws {
        let harness = try await APIHarness.make(environment: ["RATE_LIMIT_PER_MINUTE_KEY": "3"])
        let tenant = try await harness.makeTenant()
        let first = try await harness.makeKey(role: .viewer, in: tenant)
        let second = try await harness.makeKey(role: .viewer, in: tenant)
        try await harness.test { client in
            var statuses: [Int] = []
            var last: TestResponse?
            for _ in 0..<4 {
                let response = try await client.call(.get, "/tenants/\(tenant.id)", as: .bearer(first))
                statuses.append(response.status.code)
                last = response
            }
            // A minute boundary in the middle restarts the count; then the 4th is not yet limited.
            if statuses != [200, 200, 200, 429] {
                try #require(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
                return
            }
            let limited = try #require(last)
            #expect(limited.errorCode == "rate_limited")
            let retryAfter = Int(limited.headers[.retryAfter] ?? "") ?? 0
            #expect((1...60).contains(retryAfter))
            #expect(limited.headers[HTTPField.Name("RateLimit-Limit")!] == "3")
            #expect(limited.headers[HTTPField.Name("RateLimit-Remaining")!] == "0")
            #expect(limited.headers[HTTPField.Name("RateLimit-Reset")!] == String(retryAfter))

            let other = try await client.call(.get, "/tenants/\(tenant.id)", as: .bearer(second))
            #expect(other.status == .ok)
            #expect(other.headers[HTTPField.Name("RateLimit-Remaining")!] == "2")
            // Health and Twilio's webhooks are never limited.
            #expect(try await client.call(.get, "/health", as: .none).headers[HTTPField.Name("RateLimit-Limit")!] == nil)
        }
        await harness.shutdown()
    }

    @Test("requests without a key are limited per IP")
    func perIPLimit() async throws {
        let harness = try await APIHarness.make(environment: ["RATE_LIMIT_PER_MINUTE_IP": "2"])
        // In-process requests have no peer address; clear what an earlier run counted.
        let keys = try await harness.services.redis.command("KEYS", "smscrm:ratelimit:ip:*").array?.compactMap(\.string) ?? []
        for key in keys { try await harness.services.redis.command("DEL", key) }
        try await harness.test { client in
            var statuses: [Int] = []
            for _ in 0..<3 { statuses.append(try await client.call(.get, "/tenants", as: .none).status.code) }
            #expect(statuses == [401, 401, 429] || statuses.allSatisfy { $0 == 401 }, "\(statuses)")
        }
        await harness.shutdown()
    }

    @Test("session traffic is limited per user, not per IP: one user's 429 leaves another user at the same address alone")
    func perUserLimitForSessions() async throws {
        let harness = try await APIHarness.make(environment: ["RATE_LIMIT_PER_MINUTE_IP": "2"])
        let tenant = try await harness.makeTenant()
        var cookies: [String] = []
        for _ in 0..<2 {
            let user = try await harness.makeUser(role: .viewer, in: tenant)
            let (_, token) = try await harness.identity.login(email: user.email, password: APIHarness.password, ip: nil, userAgent: nil)
            cookies.append("session_id=\(token)")
        }
        try await harness.test { [cookies] client in
            var first: [Int] = []
            for _ in 0..<3 { first.append(try await client.call(.get, "/me", as: .cookie(cookies[0])).status.code) }
            let second = try await client.call(.get, "/me", as: .cookie(cookies[1]))

            #expect(first == [200, 200, 429], "\(first)")
            #expect(second.status == .ok)
        }
        await harness.shutdown()
    }

    @Test("every response carries the security headers; HSTS only over https; CORS only for listed origins")
    func securityHeaders() async throws {
        let plain = try await APIHarness.make()
        try await plain.test { client in
            let response = try await client.executeRequest(uri: "/health", method: .get, headers: [.origin: "https://evil.example"], body: nil)
            #expect(response.headers[.xContentTypeOptions] == "nosniff")
            #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(response.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(response.headers[.strictTransportSecurity] == nil)
            #expect(response.headers[.accessControlAllowOrigin] == nil, "CORS is off by default")
            let error = try await client.call(.get, "/nowhere", as: .none)
            #expect(error.headers[.xContentTypeOptions] == "nosniff", "errors too")
        }
        await plain.shutdown()

        let secure = try await APIHarness.make(
            environment: ["PUBLIC_BASE_URL": "https://sms.example.com", "CORS_ALLOWED_ORIGINS": "https://app.example.com"])
        try await secure.test { client in
            let allowed = try await client.executeRequest(
                uri: "/health", method: .get, headers: [.origin: "https://app.example.com"], body: nil)
            #expect(allowed.headers[.strictTransportSecurity]?.hasPrefix("max-age=") == true)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
            let preflight = try await client.executeRequest(
                uri: "/tenants", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "GET"], body: nil)
            #expect(preflight.status == .noContent)
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("PATCH") == true)
            let refused = try await client.executeRequest(uri: "/health", method: .get, headers: [.origin: "https://evil.example"], body: nil)
            #expect(refused.headers[.accessControlAllowOrigin] == nil)
        }
        await secure.shutdown()
    }

    @Test("API responses say how long they spent in PostgreSQL, Redis and in all (Server-Timing)")
    func serverTiming() async throws {
        let harness = try await APIHarness.make()
        let tenant = try await harness.makeTenant()
        let key = try await harness.makeKey(role: .viewer, in: tenant)
        try await harness.test { client in
            let response = try await client.call(.get, "/tenants/\(tenant.id)", as: .bearer(key))
            let timing = try #require(response.headers[HTTPField.Name("Server-Timing")!])
            let parts = Dictionary(
                uniqueKeysWithValues: timing.split(separator: ",").compactMap { entry -> (String, Double)? in
                    let pieces = entry.trimmingCharacters(in: .whitespaces).split(separator: ";dur=")
                    guard pieces.count == 2, let value = Double(pieces[1]) else { return nil }
                    return (String(pieces[0]), value)
                })
            #expect(Set(parts.keys) == ["db", "redis", "total"], "\(timing)")
            #expect((parts["db"] ?? 0) > 0, "the key lookup and the tenant read hit PostgreSQL")
            #expect((parts["total"] ?? 0) >= (parts["db"] ?? 0))
        }
        await harness.shutdown()
    }
}
