import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Postgres
import SMSAPI
import SMSCore
import Testing
import TestSupport

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 12's findings, each proven fixed.
@Suite("Hardening")
struct HardeningTests {
    func signedInbound(_ client: any TestClientProtocol, _ fixture: WebhookFixture, body: String, sid: String, token: String?) async throws
        -> TestResponse
    {
        try await postSigned(
            client, "/webhooks/twilio/inbound",
            [("AccountSid", "AC00000000000000000000000000000000"), ("MessageSid", sid), ("From", fixture.phone), ("To", WebhookFixture.number), ("Body", body)],
            idempotencyToken: token)
    }

    @Test("a signed START replayed with a new idempotency token after the contact's STOP changes nothing")
    func replayedStartIsIgnored() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            _ = try await signedInbound(client, fixture, body: "START", sid: "SMstart0000000000000000000000000001", token: "t1")
            _ = try await signedInbound(client, fixture, body: "STOP", sid: "SMstop00000000000000000000000000001", token: "t2")

            let replay = try await signedInbound(client, fixture, body: "START", sid: "SMstart0000000000000000000000000001", token: "t3-new")
            let again = try await signedInbound(client, fixture, body: "START", sid: "SMstart0000000000000000000000000001", token: nil)

            #expect(replay.status == .ok && again.status == .ok)
            let contact = try await fixture.postgres.query("SELECT opted_out_at IS NOT NULL FROM contacts WHERE id = $1::uuid", fixture.contactID)[0]
            #expect(try contact.decode(at: 0, as: Bool.self), "still opted out")
            let dnc = try await fixture.postgres.query(
                "SELECT count(*) FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2", fixture.tenant.id, fixture.phone)[0]
            #expect(try dnc.decode(at: 0, as: Int.self) == 1)
        }
        await fixture.harness.shutdown()
    }

    @Test("a START stored before a later STOP, applied late by the worker's duty, does not undo the STOP")
    func lateStartDoesNotUndoNewerStop() async throws {
        let fixture = try await WebhookFixture.make()
        let webhooks = TwilioWebhooks(postgres: fixture.postgres, queue: SendQueue(redis: fixture.harness.services.redis), logger: fixture.harness.services.logger)
        let start = try await webhooks.receiveInbound(
            parameters: ["MessageSid": "SMlate00000000000000000000000000001", "From": fixture.phone, "To": WebhookFixture.number, "Body": "START"],
            idempotencyToken: nil)
        try await fixture.postgres.query("UPDATE webhook_events SET received_at = now() - interval '1 minute' WHERE id = $1", start.eventID)
        let stop = try await webhooks.receiveInbound(
            parameters: ["MessageSid": "SMlate00000000000000000000000000002", "From": fixture.phone, "To": WebhookFixture.number, "Body": "STOP"],
            idempotencyToken: nil)
        _ = try await webhooks.apply(eventID: stop.eventID)

        _ = try await webhooks.apply(eventID: start.eventID)

        let contact = try await fixture.postgres.query("SELECT opted_out_at IS NOT NULL FROM contacts WHERE id = $1::uuid", fixture.contactID)[0]
        #expect(try contact.decode(at: 0, as: Bool.self))
        await fixture.harness.shutdown()
    }

    @Test("forty parallel wrong-password logins for one account: only the limit's worth reach the password check")
    func parallelLoginsAreThrottled() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .viewer, in: tenant)
        try await api.test { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await client.executeRequest(
                            uri: "/auth/login", method: .post, headers: [.contentType: "application/json"],
                            body: json(["email": user.email, "password": "wrong"])
                        ).status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count == 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 35)
        }
        await api.shutdown()
    }

    @Test("an unknown email is checked against a hash of the same cost as users' passwords")
    func unknownEmailCostsTheSame() async throws {
        let api = try await APIHarness.make(policy: SessionPolicy(bcryptCost: 6))
        #expect(api.identity.unknownUserHash.hasPrefix("$2b$06$"))
        await api.shutdown()
    }

    @Test("invented API keys from one address are rate-limited like any anonymous request")
    func inventedKeysAreRateLimited() async throws {
        let api = try await APIHarness.make(environment: ["RATE_LIMIT_PER_MINUTE_IP": "5"])
        // Over real HTTP, so the requests have an address of their own (127.0.0.1) that no
        // in-process test shares; cleared of what an earlier run counted.
        let keys = try await api.services.redis.command("KEYS", "smscrm:ratelimit:ip:127.0.0.1:*").array?.compactMap(\.string) ?? []
        for key in keys { try await api.services.redis.command("DEL", key) }
        let app = Application(router: buildRouter(services: api.services), logger: api.services.logger)
        try await app.test(.live) { client in
            var statuses: [HTTPResponse.Status] = []
            // The limit counts per minute: twelve requests see a 429 even if a minute
            // boundary falls between them and the count starts again.
            for index in 0..<12 {
                statuses.append(
                    try await client.executeRequest(
                        uri: "/tenants/\(UUID().uuidString)/contacts", method: .get, headers: [.authorization: "Bearer sk_made_up_\(index)"], body: nil
                    ).status)
            }
            #expect(statuses.first == .unauthorized)
            #expect(statuses.allSatisfy { $0 == .unauthorized || $0 == .tooManyRequests })
            #expect(statuses.contains(.tooManyRequests))
        }
        await api.shutdown()
    }

    @Test("a NUL character anywhere in a JSON body is a 400 naming the field, and nothing is stored")
    func nulCharactersAreRefused() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            for (body, field) in [
                (#"{"name": "Safe\u0000; hidden tail"}"#, "name"),
                (#"{"phone": "0412 555 001", "attributes": {"note": "a\u0000b"}}"#, "attributes.note"),
                (#"{"name": "k", "role": "viewer", "tags": ["x", "\u0000"]}"#, "tags[1]"),
            ] {
                let path = field == "name" ? "/tenants/\(tenant.id)/lists" : field == "attributes.note" ? "/tenants/\(tenant.id)/contacts" : "/tenants/\(tenant.id)/api-keys"
                let response = try await client.executeRequest(
                    uri: path, method: .post, headers: [.authorization: "Bearer \(key)", .contentType: "application/json"], body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorDetails == [field], "\(body)")
            }
        }
        let lists = try await api.services.postgres.query("SELECT count(*) FROM contact_lists WHERE tenant_id = $1::uuid", tenant.id)[0]
        #expect(try lists.decode(at: 0, as: Int.self) == 0)
        await api.shutdown()
    }

    @Test("a signed webhook carrying a NUL is a 400, not a 500")
    func signedWebhookWithNul() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            let response = try await postSigned(
                client, "/webhooks/twilio/inbound",
                [("MessageSid", "SMnul000000000000000000000000000001"), ("From", fixture.phone), ("To", WebhookFixture.number), ("Body", "hi\u{0}there")])
            #expect(response.status == .badRequest)
            #expect(response.errorDetails == ["Body"])
        }
        await fixture.harness.shutdown()
    }

    @Test("impossible and out-of-range dates are a 400, never a 500 or another day")
    func datesAreStrict() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            for (path, body, field) in [
                ("contacts", #"{"phone": "0412 555 002", "consent_source": "web", "consent_at": "0001-01-01T00:00:00Z"}"#, "consent_at"),
                ("contacts", #"{"phone": "0412 555 003", "consent_source": "web", "consent_at": "2027-02-30T25:00:00Z"}"#, "consent_at"),
                ("campaigns", #"{"name": "c", "body_template": "Hi", "scheduled_at": "10000-01-01T00:00:00Z"}"#, "scheduled_at"),
            ] {
                let response = try await client.executeRequest(
                    uri: "/tenants/\(tenant.id)/\(path)", method: .post, headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
                #expect(response.errorDetails == [field], "\(body)")
            }
        }
        await api.shutdown()
    }

    @Test("JSON that is not RFC 8259 (a trailing comma, a comment, single quotes) is a 400")
    func strictJSON() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            for body in [#"{"name":"x",}"#, #"{"name":"x"} // note"#, "{'name':'x'}", #"{"name":"x""#, #"[1,]"#, #"{"name":01}"#] {
                let response = try await client.executeRequest(
                    uri: "/tenants/\(tenant.id)/lists", method: .post, headers: [.authorization: "Bearer \(key)", .contentType: "application/json"],
                    body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
            }
        }
        let lists = try await api.services.postgres.query("SELECT count(*) FROM contact_lists WHERE tenant_id = $1::uuid", tenant.id)[0]
        #expect(try lists.decode(at: 0, as: Int.self) == 0)
        await api.shutdown()
    }

    @Test("a cookie write whose Referer does not parse as this site's origin is refused, and one from an allowed CORS origin passes")
    func refererAndAllowedOrigins() async throws {
        let api = try await APIHarness.make(environment: ["CORS_ALLOWED_ORIGINS": "https://app.example.com"])
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .owner, in: tenant)
        try await api.test { client in
            let cookie = try await api.login(user, client: client)
            func post(_ headers: HTTPFields) async throws -> HTTPResponse.Status {
                var all = headers
                all[.cookie] = cookie
                all[.contentType] = "application/json"
                return try await client.executeRequest(
                    uri: "/tenants/\(tenant.id)/lists", method: .post, headers: all, body: json(["name": "L\(UUID().uuidString.prefix(6))"])
                ).status
            }

            #expect(try await post([.referer: "http://api.test:80.evil.example/x"]) == .forbidden)
            #expect(try await post([.referer: "not a url"]) == .forbidden)
            #expect(try await post([.origin: "https://evil.example"]) == .forbidden)
            #expect(try await post([.origin: "https://app.example.com"]) == .created)
            #expect(try await post([.referer: "http://api.test/ui/lists"]) == .created)
        }
        await api.shutdown()
    }

    @Test("a malformed chunked body is a 400 from the server, not a 500")
    func malformedChunkedBody() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        let app = Application(router: buildRouter(services: api.services), logger: api.services.logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let request = """
                POST /tenants/\(tenant.id)/lists HTTP/1.1\r
                Host: 127.0.0.1\r
                Authorization: Bearer \(key)\r
                Content-Type: application/json\r
                Transfer-Encoding: chunked\r
                \r
                zz\r
                {"name":"x"}\r
                0\r
                \r

                """
            let answer = try rawHTTP(port: port, request)
            #expect(answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(200))")
        }
        await api.shutdown()
    }
}

extension TestResponse {
    var errorDetails: [String]? { (object["error"] as? [String: Any])?["details"] as? [String] }
}

/// Sends bytes as they are (no HTTP client would send a broken chunk) and reads the first answer.
func rawHTTP(port: Int, _ text: String) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw ProcessRunner.Failure(description: "socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw ProcessRunner.Failure(description: "connect failed") }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var buffer = [UInt8](repeating: 0, count: 4096)
    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
    return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : ""
}

@Suite("Authentication from memory")
struct CredentialCacheTests {
    @Test("a key revoked on another replica is refused within a second, and last_used_at is written once for many requests")
    func revocationAndTouches() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let secret = try await api.makeKey(role: .viewer, in: tenant)
        try await api.test { client in
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts", as: .bearer(secret)).status == .ok)
            let xmin = "SELECT last_used_at IS NOT NULL, xmin::text FROM api_keys WHERE tenant_id = $1::uuid"
            let first = try await api.services.postgres.query(xmin, tenant.id)[0]
            #expect(try first.decode(at: 0, as: Bool.self), "the first use is recorded")
            for round in 0..<20 {
                if round == 10 { try await Task.sleep(for: .milliseconds(1_100)) }  // past the cache: read again, still not written
                #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts", as: .bearer(secret)).status == .ok)
            }
            let after = try await api.services.postgres.query(xmin, tenant.id)[0]
            #expect(try after.decode(at: 1, as: String.self) == first.decode(at: 1, as: String.self), "no write for the next twenty")
            // Another replica (here: SQL) revokes it.
            try await api.services.postgres.query("UPDATE api_keys SET revoked_at = now() WHERE tenant_id = $1::uuid", tenant.id)
            try await Task.sleep(for: .milliseconds(1_100))

            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts", as: .bearer(secret)).status == .unauthorized)
        }
        await api.shutdown()
    }

    @Test("a logout ends the session at once on the replica that served it")
    func logoutIsImmediate() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let user = try await api.makeUser(role: .viewer, in: tenant)
        try await api.test { client in
            let session = Credential.cookie(try await api.login(user, client: client))
            #expect(try await client.call(.get, "/me", as: session).status == .ok)
            #expect(try await client.call(.post, "/auth/logout", as: session).status == .noContent)
            #expect(try await client.call(.get, "/me", as: session).status == .unauthorized)
        }
        await api.shutdown()
    }
}

@Suite("Spec exactness")
struct SpecExactnessTests {
    @Test("a known path with an unknown method is a 405 naming the allowed methods; the most specific route decides")
    func methodNotAllowed() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            let put = try await client.executeRequest(uri: "/tenants/\(tenant.id)/contacts", method: .put, headers: [.authorization: "Bearer \(key)"], body: nil)
            #expect(put.status == .methodNotAllowed)
            #expect(put.headers[.allow] == "GET, POST")
            let bulk = try await client.executeRequest(uri: "/tenants/\(tenant.id)/dnc/bulk", method: .get, headers: [.authorization: "Bearer \(key)"], body: nil)
            #expect(bulk.headers[.allow] == "POST")
            let unknown = try await client.executeRequest(uri: "/nowhere", method: .put, headers: [:], body: nil)
            #expect(unknown.status == .notFound)
        }
        await api.shutdown()
    }

    @Test("an empty cursor is the first page, and an empty PATCH answers the resource as it is")
    func emptyCursorAndPatch() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts?cursor=", as: .bearer(key)).status == .ok)
            let patched = try await client.call(.patch, "/tenants/\(tenant.id)", as: .bearer(key), json: [:])
            #expect(patched.status == .ok)
            #expect(patched.object["name"] as? String == tenant.name)
            let garbage = try await client.call(.get, "/tenants/\(tenant.id)/contacts?cursor=12_34", as: .bearer(key))
            #expect(garbage.status == .badRequest, "a row number is no contact cursor")
        }
        await api.shutdown()
    }
}
