import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Postgres
import SMSCore
import Testing
import TestSupport

/// A tenant with a number, a contact and one job in a campaign, for webhooks to act on.
struct WebhookFixture {
    let harness: APIHarness
    let tenant: Tenant
    let jobID: String
    let contactID: String
    static let number = "+61400000777"
    let phone: String

    static func make(jobStatus: String = "sent", sid: String? = "SM00000000000000000000000000000001") async throws -> WebhookFixture {
        let harness = try await APIHarness.make()
        let tenant = try await harness.makeTenant()
        // 041x xxx xxx: every number in it is a valid Australian mobile, which
        // the whole 04 range is not (libphonenumber refuses e.g. 0441).
        let phone = "+6141" + String(format: "%07d", Int.random(in: 0..<10_000_000))
        let postgres = harness.services.postgres
        let (jobID, contactID) = try await postgres.withTransaction { connection in
            let number = try connection.query(
                "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, $2, 'long_code', 1) RETURNING id::text",
                tenant.id, Self.number)[0].decode(at: 0, as: String.self)
            let contact = try connection.query(
                "INSERT INTO contacts (tenant_id, phone_e164, consent_at) VALUES ($1::uuid, $2, now()) RETURNING id::text", tenant.id, phone
            )[0].decode(at: 0, as: String.self)
            let campaign = try connection.query(
                "INSERT INTO campaigns (tenant_id, name, body_template, status) VALUES ($1::uuid, 'w', 'Hi', 'running') RETURNING id::text", tenant.id
            )[0].decode(at: 0, as: String.self)
            let job = try connection.query(
                """
                INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                                       estimated_cost_cents, reserved_cents, reserved_daily_period, reserved_monthly_period, status, provider_sid)
                VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, $6, 'Hi', 'gsm7', 1, 5, 5,
                        (now() AT TIME ZONE 'Australia/Sydney')::date, date_trunc('month', now() AT TIME ZONE 'Australia/Sydney')::date, $7, $8)
                RETURNING id::text
                """, tenant.id, campaign, contact, number, phone, Self.number, jobStatus, sid)[0].decode(at: 0, as: String.self)
            try connection.query(
                """
                UPDATE budgets SET daily_spent_cents = 5, daily_period = (now() AT TIME ZONE 'Australia/Sydney')::date,
                    monthly_spent_cents = 5, monthly_period = date_trunc('month', now() AT TIME ZONE 'Australia/Sydney')::date
                WHERE tenant_id = $1::uuid
                """, tenant.id)
            return (job, contact)
        }
        return WebhookFixture(harness: harness, tenant: tenant, jobID: jobID, contactID: contactID, phone: phone)
    }

    var postgres: PostgresClient { harness.services.postgres }

    func job() async throws -> PostgresRow {
        try await postgres.query("SELECT status, provider_sid, error_code, failure_reason, reserved_cents, cost_cents FROM send_jobs WHERE id = $1::uuid", jobID)[0]
    }

    func events() async throws -> Int {
        try await postgres.query("SELECT count(*) FROM webhook_events")[0].decode(at: 0)
    }

    func spent() async throws -> Decimal {
        try await postgres.query("SELECT daily_spent_cents FROM budgets WHERE tenant_id = $1::uuid", tenant.id)[0].decode(at: 0)
    }
}

/// Posts form parameters signed as Twilio would sign them for `http://api.test` + `path`.
func postSigned(
    _ client: any TestClientProtocol, _ path: String, _ parameters: [(String, String)], token: String = "test-token",
    signedURL: String? = nil, signedParameters: [(String, String)]? = nil, idempotencyToken: String? = nil, signature: String?? = nil
) async throws -> TestResponse {
    let body = parameters.map { "\(formEscape($0.0))=\(formEscape($0.1))" }.joined(separator: "&")
    var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    let computed = TwilioSignature.sign(url: signedURL ?? "http://api.test\(path)", parameters: signedParameters ?? parameters, authToken: token)
    if let value = signature ?? computed { headers[HTTPField.Name(TwilioSignature.header)!] = value }
    if let idempotencyToken { headers[HTTPField.Name("I-Twilio-Idempotency-Token")!] = idempotencyToken }
    return try await client.executeRequest(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
}

func formEscape(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~")
    return (text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text)
}

@Suite("Twilio webhooks")
struct WebhookTests {
    func statusParameters(_ fixture: WebhookFixture, status: String, error: String? = nil, sid: String = "SM00000000000000000000000000000001")
        -> [(String, String)]
    {
        var parameters = [
            ("AccountSid", "AC00000000000000000000000000000000"), ("MessageSid", sid), ("MessageStatus", status),
            ("To", fixture.phone), ("From", WebhookFixture.number),
        ]
        if let error { parameters.append(("ErrorCode", error)) }
        return parameters
    }

    @Test("a correctly signed status callback answers 200 and moves the job forward")
    func signedCallbackApplies() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            let path = "/webhooks/twilio/status?job_id=\(fixture.jobID)"
            let response = try await postSigned(client, path, statusParameters(fixture, status: "delivered"))
            #expect(response.status == .ok)
            #expect(try await fixture.job().decode("status", as: String.self) == "delivered")
            let event = try await fixture.postgres.query("SELECT outcome, processed_at IS NOT NULL AS done FROM webhook_events")[0]
            #expect(try event.decode("outcome", as: String.self) == "applied")
            #expect(try event.decode("done", as: Bool.self))
        }
        await fixture.harness.shutdown()
    }

    @Test("forged, missing, body-altered, parameter-added and URL-altered signatures get 403 and change nothing")
    func forgeriesRefused() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            let path = "/webhooks/twilio/status?job_id=\(fixture.jobID)"
            let genuine = statusParameters(fixture, status: "delivered")
            let cases: [(String, TestResponse)] = [
                ("forged", try await postSigned(client, path, genuine, token: "not-the-token")),
                ("missing", try await postSigned(client, path, genuine, signature: .some(nil))),
                ("body altered", try await postSigned(client, path, statusParameters(fixture, status: "failed"), signedParameters: genuine)),
                ("param added", try await postSigned(client, path, genuine + [("Price", "-0.01")], signedParameters: genuine)),
                ("URL altered", try await postSigned(client, path, genuine, signedURL: "http://api.test/webhooks/twilio/status?job_id=other")),
                ("garbage", try await postSigned(client, path, genuine, signature: .some("bm90IGEgc2lnbmF0dXJl"))),
            ]
            for (name, response) in cases {
                #expect(response.status == .forbidden, "\(name)")
                #expect(response.errorCode == "invalid_signature", "\(name)")
            }
            #expect(try await fixture.events() == 0)
            #expect(try await fixture.job().decode("status", as: String.self) == "sent")
            let rejected = try await fixture.harness.services.redis.command("HGET", "smscrm:webhooks:rejected_signatures", "status").int ?? 0
            #expect(rejected >= cases.count)
            #expect(Telemetry.render().contains(#"smscrm_webhook_signature_rejected_total{route="/webhooks/twilio/status"}"#))
        }
        await fixture.harness.shutdown()
    }

    @Test("a URL signed with the default port, and a JSON body signed with bodySHA256, are accepted")
    func portVariantAndJSON() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            let path = "/webhooks/twilio/status?job_id=\(fixture.jobID)"
            let withPort = try await postSigned(
                client, path, statusParameters(fixture, status: "sent"), signedURL: "http://api.test:80\(path)")
            #expect(withPort.status == .ok)

            let body = Array(
                try JSONSerialization.data(withJSONObject: Dictionary(uniqueKeysWithValues: statusParameters(fixture, status: "delivered")))
            )
            let jsonPath = path + "&bodySHA256=" + TwilioSignature.bodySHA256(body)
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[HTTPField.Name(TwilioSignature.header)!] = TwilioSignature.sign(
                url: "http://api.test" + jsonPath, parameters: [], authToken: "test-token")
            let json = try await client.executeRequest(uri: jsonPath, method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(json.status == .ok)
            #expect(try await fixture.job().decode("status", as: String.self) == "delivered")

            // The same JSON with one byte changed no longer matches its hash.
            var altered = body
            altered[altered.count - 3] ^= 1
            let tampered = try await client.executeRequest(uri: jsonPath, method: .post, headers: headers, body: ByteBuffer(bytes: altered))
            #expect(tampered.status == .forbidden)
        }
        await fixture.harness.shutdown()
    }

    @Test("the same callback five times gives one event row and one state change")
    func idempotent() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            for _ in 0..<5 {
                let response = try await postSigned(
                    client, "/webhooks/twilio/status?job_id=\(fixture.jobID)", statusParameters(fixture, status: "delivered"),
                    idempotencyToken: "tok-1")
                #expect(response.status == .ok)
            }
            #expect(try await fixture.events() == 1)
            #expect(try await fixture.job().decode("status", as: String.self) == "delivered")
            // Without a token the key is sid + status + error code: still one row.
            for _ in 0..<5 {
                _ = try await postSigned(client, "/webhooks/twilio/status", statusParameters(fixture, status: "sent"))
            }
            #expect(try await fixture.events() == 2)
        }
        await fixture.harness.shutdown()
    }

    @Test("out-of-order callbacks give the monotonic result", arguments: [
        (["sent", "delivered"], "delivered"),
        (["delivered", "sent"], "delivered"),
        (["queued", "delivered", "sending", "sent"], "delivered"),
        (["undelivered", "delivered"], "delivered"),
        (["delivered", "undelivered"], "delivered"),
        (["sent", "undelivered", "sent"], "undelivered"),
    ])
    func monotonic(sequence: [String], expected: String) async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            for status in sequence {
                let response = try await postSigned(
                    client, "/webhooks/twilio/status?job_id=\(fixture.jobID)",
                    statusParameters(fixture, status: status, error: status == "undelivered" ? "30007" : nil))
                #expect(response.status == .ok)
            }
            #expect(try await fixture.job().decode("status", as: String.self) == expected)
        }
        await fixture.harness.shutdown()
    }

    @Test("every Twilio status is accepted; an unknown one is stored, not applied, and answered 200")
    func everyStatus() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            for status in ["accepted", "scheduled", "queued", "sending", "sent", "read", "partially_delivered", "receiving", "received", "exploded"] {
                let response = try await postSigned(client, "/webhooks/twilio/status?job_id=\(fixture.jobID)", statusParameters(fixture, status: status))
                #expect(response.status == .ok, "\(status)")
            }
            let unknown = try await fixture.postgres.query("SELECT outcome FROM webhook_events WHERE message_status = 'exploded'")[0]
            #expect(try unknown.decode(at: 0, as: String.self) == "unknown_status")
            #expect(try await fixture.job().decode("status", as: String.self) == "delivered", "read means delivered")
        }
        await fixture.harness.shutdown()
    }

    @Test("failed keeps the code and a readable reason and gives back the reservation; undelivered keeps it; 21610 suppresses at once")
    func failures() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            _ = try await postSigned(
                client, "/webhooks/twilio/status?job_id=\(fixture.jobID)", statusParameters(fixture, status: "failed", error: "21610"))
            let row = try await fixture.job()
            #expect(try row.decode("status", as: String.self) == "failed")
            #expect(try row.decode("error_code", as: Int.self) == 21610)
            #expect(try row.decode("failure_reason", as: String.self).contains("replied STOP"))
            #expect(try await fixture.spent() == 0)
            let dnc = try await fixture.postgres.query(
                "SELECT reason FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2", fixture.tenant.id, fixture.phone)
            #expect(try dnc.first?.decode(at: 0, as: String.self) == "twilio_21610")
        }
        await fixture.harness.shutdown()

        let undelivered = try await WebhookFixture.make()
        try await undelivered.harness.test { client in
            _ = try await postSigned(
                client, "/webhooks/twilio/status?job_id=\(undelivered.jobID)",
                statusParameters(undelivered, status: "undelivered", error: "30003") + [("Price", "-0.0790"), ("PriceUnit", "USD")])
            #expect(try await undelivered.job().decode("status", as: String.self) == "undelivered")
            #expect(try await undelivered.spent() == Decimal(string: "7.9"), "billed: the price replaces the estimate")
            // One 30003 does not suppress; the default threshold is three.
            let dnc = try await undelivered.postgres.query("SELECT count(*) FROM do_not_contact WHERE tenant_id = $1::uuid", undelivered.tenant.id)
            #expect(try dnc[0].decode(at: 0, as: Int.self) == 0)
            // Two more messages to the same number end 30005 and 30006: the third carrier failure suppresses it.
            for (index, code) in ["30005", "30006"].enumerated() {
                let sid = "SM00000000000000000000000000000\(index + 2)0"
                try await undelivered.postgres.query(
                    """
                    WITH k AS (INSERT INTO campaigns (tenant_id, name, body_template, status) VALUES ($1::uuid, $2, 'Hi', 'running') RETURNING id)
                    INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments,
                                           status, provider_sid)
                    SELECT tenant_id, k.id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments, 'sent', $3
                    FROM send_jobs, k WHERE send_jobs.id = $4::uuid
                    """, undelivered.tenant.id, "again \(index)", sid, undelivered.jobID)
                _ = try await postSigned(client, "/webhooks/twilio/status", statusParameters(undelivered, status: "undelivered", error: code, sid: sid))
            }
            let suppressed = try await undelivered.postgres.query(
                "SELECT reason, source FROM do_not_contact WHERE tenant_id = $1::uuid AND phone_e164 = $2", undelivered.tenant.id, undelivered.phone)
            #expect(try suppressed.first?.decode("reason", as: String.self) == "carrier_30006")
            #expect(try suppressed.first?.decode("source", as: String.self) == "provider")
        }
        await undelivered.harness.shutdown()
    }

    @Test("a callback settles an unknown job with its sid")
    func settlesUnknown() async throws {
        let fixture = try await WebhookFixture.make(jobStatus: "unknown", sid: nil)
        try await fixture.harness.test { client in
            _ = try await postSigned(
                client, "/webhooks/twilio/status?job_id=\(fixture.jobID)", statusParameters(fixture, status: "sent", sid: "SM0000000000000000000000000000abcd"))
            let row = try await fixture.job()
            #expect(try row.decode("status", as: String.self) == "sent")
            #expect(try row.decode("provider_sid", as: String.self) == "SM0000000000000000000000000000abcd")
        }
        await fixture.harness.shutdown()
    }

    func inbound(_ client: any TestClientProtocol, _ fixture: WebhookFixture, body: String, to: String = WebhookFixture.number) async throws
        -> TestResponse
    {
        try await postSigned(
            client, "/webhooks/twilio/inbound",
            [
                ("AccountSid", "AC00000000000000000000000000000000"), ("MessageSid", "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "")),
                ("From", fixture.phone), ("To", to), ("Body", body),
            ])
    }

    @Test("STOP variants opt out, cancel pending jobs and reply; near-misses are kept as inbox messages", arguments: [
        ("stop", true), (" Stop. ", true), ("STOP ALL", true), ("unsubscribe", true), ("opt-out", true),
        ("stop please", false), ("don't stop", false),
    ])
    func stopVariants(text: String, optsOut: Bool) async throws {
        let fixture = try await WebhookFixture.make(jobStatus: "queued", sid: nil)
        try await fixture.harness.test { client in
            let response = try await inbound(client, fixture, body: text)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/xml") == true)
            let xml = String(buffer: response.body)
            let contact = try await fixture.postgres.query("SELECT opted_out_at IS NOT NULL FROM contacts WHERE id = $1::uuid", fixture.contactID)[0]
            let stored = try await fixture.postgres.query("SELECT keyword FROM inbound_messages WHERE tenant_id = $1::uuid", fixture.tenant.id)
            #expect(stored.count == 1)
            if optsOut {
                #expect(try contact.decode(at: 0, as: Bool.self))
                #expect(try await fixture.job().decode("status", as: String.self) == "cancelled")
                #expect(xml.contains("<Message>") && xml.contains("unsubscribed"))
                #expect(try stored[0].decode(at: 0, as: String.self) == "opt_out")
            } else {
                #expect(try !contact.decode(at: 0, as: Bool.self))
                #expect(try await fixture.job().decode("status", as: String.self) == "queued")
                #expect(xml.hasSuffix("<Response/>"))
                #expect(try stored[0].decodeIfPresent(at: 0, as: String.self) == nil)
            }
        }
        await fixture.harness.shutdown()
    }

    @Test("START after STOP restores sending; HELP replies with the tenant's text; advanced opt-out sends no confirmation")
    func startAndHelp() async throws {
        let fixture = try await WebhookFixture.make(jobStatus: "queued", sid: nil)
        try await fixture.postgres.query("UPDATE tenants SET help_text = 'Acme: call 1800 000 000 & more' WHERE id = $1::uuid", fixture.tenant.id)
        try await fixture.harness.test { client in
            _ = try await inbound(client, fixture, body: "STOP")
            let start = try await inbound(client, fixture, body: "start")
            #expect(String(buffer: start.body).contains("subscribed again"))
            let contact = try await fixture.postgres.query("SELECT opted_out_at IS NULL FROM contacts WHERE id = $1::uuid", fixture.contactID)[0]
            #expect(try contact.decode(at: 0, as: Bool.self))
            let dnc = try await fixture.postgres.query("SELECT count(*) FROM do_not_contact WHERE tenant_id = $1::uuid", fixture.tenant.id)[0]
            #expect(try dnc.decode(at: 0, as: Int.self) == 0)
            let audit = try await fixture.postgres.query(
                "SELECT action FROM audit_log WHERE tenant_id = $1::uuid AND action LIKE 'contact.opt%' ORDER BY id", fixture.tenant.id)
            #expect(try audit.map { try $0.decode(at: 0, as: String.self) } == ["contact.opt_out", "contact.opt_in"])

            let help = try await inbound(client, fixture, body: "help")
            #expect(String(buffer: help.body).contains("<Message>Acme: call 1800 000 000 &amp; more</Message>"))

            try await fixture.postgres.query("UPDATE tenants SET advanced_opt_out = true WHERE id = $1::uuid", fixture.tenant.id)
            let quiet = try await inbound(client, fixture, body: "STOP")
            #expect(String(buffer: quiet.body).hasSuffix("<Response/>"))
        }
        await fixture.harness.shutdown()
    }

    @Test("an inbound message to a number nobody owns is stored as unroutable and answered with an empty response")
    func unroutable() async throws {
        let fixture = try await WebhookFixture.make()
        try await fixture.harness.test { client in
            let response = try await inbound(client, fixture, body: "hello", to: "+61499999999")
            #expect(response.status == .ok)
            #expect(String(buffer: response.body).hasSuffix("<Response/>"))
            let event = try await fixture.postgres.query("SELECT outcome, tenant_id FROM webhook_events WHERE kind = 'inbound'")[0]
            #expect(try event.decode("outcome", as: String.self) == "unroutable")
        }
        await fixture.harness.shutdown()
    }

    @Test("the inbox lists ordinary messages with their contact, page by page, and only the tenant's own")
    func inbox() async throws {
        let fixture = try await WebhookFixture.make()
        let owner = try await fixture.harness.makeKey(role: .viewer, in: fixture.tenant)
        let other = try await fixture.harness.makeKey(role: .owner, in: try await fixture.harness.makeTenant())
        try await fixture.harness.test { client in
            for text in ["one", "two", "three"] { _ = try await inbound(client, fixture, body: text) }
            let first = try await client.call(.get, "/tenants/\(fixture.tenant.id)/inbox?limit=2", as: .bearer(owner))
            #expect(first.status == .ok)
            let items = first.object["items"] as? [[String: Any]] ?? []
            #expect(items.map { $0["body"] as? String } == ["one", "two"])
            #expect(items.first?["contact_id"] as? String == fixture.contactID)
            // RFC 3339 in UTC, as every API timestamp.
            #expect((items.first?["received_at"] as? String)?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
            let cursor = try #require(first.object["next_cursor"] as? String)
            let second = try await client.call(.get, "/tenants/\(fixture.tenant.id)/inbox?limit=2&cursor=\(cursor)", as: .bearer(owner))
            #expect((second.object["items"] as? [[String: Any]])?.map { $0["body"] as? String } == ["three"])
            let foreign = try await client.call(.get, "/tenants/\(fixture.tenant.id)/inbox", as: .bearer(other))
            #expect(foreign.status == .notFound)
        }
        await fixture.harness.shutdown()
    }

    @Test("an event stored but never applied is applied by the worker's duty, once")
    func pendingApplied() async throws {
        let fixture = try await WebhookFixture.make()
        let webhooks = TwilioWebhooks(postgres: fixture.postgres, queue: SendQueue(redis: fixture.harness.services.redis), logger: fixture.harness.services.logger)
        // Stored, then the process "died" before applying it.
        let receipt = try await webhooks.receiveStatus(
            parameters: Dictionary(uniqueKeysWithValues: statusParameters(fixture, status: "delivered")), idempotencyToken: nil, jobID: fixture.jobID)
        #expect(try await fixture.job().decode("status", as: String.self) == "sent")
        try await fixture.postgres.query("UPDATE webhook_events SET received_at = now() - interval '1 minute' WHERE id = $1", receipt.eventID)
        #expect(try await webhooks.lagSeconds() >= 59)
        #expect(try await webhooks.applyPending() == 1)
        #expect(try await fixture.job().decode("status", as: String.self) == "delivered")
        #expect(try await webhooks.applyPending() == 0)
        #expect(try await webhooks.lagSeconds() == 0)
        await fixture.harness.shutdown()
    }

    @Test("a callback whose application fails is still stored and answered 200, with the error recorded, and the duty applies it later")
    func failedApplicationIsKept() async throws {
        let fixture = try await WebhookFixture.make()
        // Every update of the job fails for now, as a broken deploy or a lock timeout would.
        try await fixture.postgres.query(
            "CREATE FUNCTION refuse_job_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$")
        try await fixture.postgres.query(
            "CREATE TRIGGER refuse_job_updates BEFORE UPDATE ON send_jobs FOR EACH ROW EXECUTE FUNCTION refuse_job_updates()")
        try await fixture.harness.test { client in
            let response = try await postSigned(
                client, "/webhooks/twilio/status?job_id=\(fixture.jobID)", statusParameters(fixture, status: "delivered"))
            #expect(response.status == .ok)
        }
        let event = try await fixture.postgres.query("SELECT processed_at IS NULL AS pending, attempts, last_error IS NOT NULL AS failed FROM webhook_events")
        #expect(event.count == 1, "stored once, not rolled back with the failed application")
        #expect(try event[0].decode("pending", as: Bool.self))
        #expect(try event[0].decode("attempts", as: Int.self) == 1)
        #expect(try event[0].decode("failed", as: Bool.self))
        #expect(try await fixture.job().decode("status", as: String.self) == "sent")

        try await fixture.postgres.query("DROP TRIGGER refuse_job_updates ON send_jobs")
        try await fixture.postgres.query("UPDATE webhook_events SET received_at = now() - interval '1 minute'")
        let webhooks = TwilioWebhooks(postgres: fixture.postgres, queue: SendQueue(redis: fixture.harness.services.redis), logger: fixture.harness.services.logger)
        #expect(try await webhooks.applyPending() == 1)
        #expect(try await fixture.job().decode("status", as: String.self) == "delivered")
        await fixture.harness.shutdown()
    }
}
