import Curl
import Foundation
import SMSCore
import Testing
import TestSupport
import TwilioSandbox

extension SandboxHarness {
    func twilioClient(timeout: Duration = .seconds(5), token: String = SandboxHarness.authToken, base: String? = nil) -> TwilioClient {
        TwilioClient(
            configuration: .init(accountSID: Self.accountSID, authToken: token, apiBase: base ?? self.base, timeout: timeout), http: client)
    }
}

/// The worker's Twilio client against the sandbox: every kind of answer maps to
/// the outcome the at-most-once protocol needs.
@Suite("Twilio client")
struct TwilioClientTests {
    let message = OutboundMessage(to: "+61412345678", from: "+61400000001", body: "Hi there", validityPeriod: 3600)

    @Test("an accepted message comes back with its sid")
    func accepted() async throws {
        try await withSandbox { sandbox in
            let outcome = await sandbox.twilioClient().send(message)
            guard case .accepted(let sid, _) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(sid.hasPrefix("SM"))
        }
    }

    @Test("a permanent Twilio error is a rejection with its code")
    func rejected() async throws {
        try await withSandbox { sandbox in
            var invalid = message
            invalid.to = "+15005550001"  // Twilio's magic number for 21211
            let outcome = await sandbox.twilioClient().send(invalid)
            guard case .rejected(let code, _, let status) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(code == 21211)
            #expect(status == 400)
        }
    }

    @Test("429 is retryable: Twilio did not act on the request")
    func rateLimited() async throws {
        try await withSandbox(faults: SandboxFaults(rateLimitedRate: 1)) { sandbox in
            let outcome = await sandbox.twilioClient().send(message)
            guard case .retryable(let failure) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(failure.httpStatus == 429)
            #expect(failure.providerCode == 20429)
            #expect(!failure.mayHaveReachedProvider)
        }
    }

    @Test("a 500 is ambiguous: Twilio may have created the message")
    func serverError() async throws {
        try await withSandbox(faults: SandboxFaults(serverErrorRate: 1)) { sandbox in
            let outcome = await sandbox.twilioClient().send(message)
            guard case .ambiguous(let failure) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(failure.httpStatus == 500)
            #expect(failure.mayHaveReachedProvider)
        }
    }

    @Test("a hang after accepting is ambiguous, and the lookup then finds exactly that message")
    func hangThenLookup() async throws {
        try await withSandbox(faults: SandboxFaults(hangRate: 1, hangSeconds: 5)) { sandbox in
            let client = sandbox.twilioClient(timeout: .milliseconds(500))
            let started = Date()

            let outcome = await client.send(message)
            let found = try await client.findMessages(to: message.to, from: message.from, since: started)

            guard case .ambiguous = outcome else { Issue.record("got \(outcome)"); return }
            #expect(found.count == 1)
            #expect(found.first?.sid.hasPrefix("SM") == true)
        }
    }

    @Test("a refused connection is retryable: nothing was sent")
    func connectionRefused() async throws {
        try await withSandbox { sandbox in
            let outcome = await sandbox.twilioClient(base: "http://127.0.0.1:1").send(message)
            guard case .retryable(let failure) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(failure.httpStatus == nil)
            #expect(!failure.mayHaveReachedProvider)
        }
    }

    @Test("wrong credentials are retried later rather than failing the message")
    func wrongCredentials() async throws {
        try await withSandbox { sandbox in
            let outcome = await sandbox.twilioClient(token: "wrong").send(message)
            guard case .retryable(let failure) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(failure.retryAfter == .seconds(60))
            #expect(failure.httpStatus == 401)
        }
    }

    @Test("a signed status callback verifies and parses into a report; a forged one does not verify")
    func webhookVerification() async throws {
        try await withSandbox { sandbox in
            let client = sandbox.twilioClient()
            let url = "https://api.example.com/webhooks/twilio/status?job_id=1"
            let parameters = [("MessageSid", "SM1"), ("MessageStatus", "delivered"), ("To", "+61412345678"), ("Price", "-0.0750")]
            let signature = TwilioSignature.sign(url: url, parameters: parameters, authToken: SandboxHarness.authToken)
            let body = Array(parameters.map { "\($0.0)=\(FormEncoding.escape($0.1))" }.joined(separator: "&").utf8)

            let verified = try #require(
                client.verify(SignedWebhook(url: url, signature: signature, contentType: "application/x-www-form-urlencoded", body: body)))
            let report = client.statusReport(verified)

            #expect(report == ProviderReport(sid: "SM1", rawStatus: "delivered", status: .delivered, isKnownStatus: true, priceCents: 7.5))
            #expect(client.verify(SignedWebhook(url: url, signature: "forged", contentType: nil, body: body)) == nil)
            #expect(client.verify(SignedWebhook(url: url, signature: nil, contentType: nil, body: body)) == nil)
            #expect(client.statusReport(["MessageSid": "SM2", "MessageStatus": "teleported"]).isKnownStatus == false)
        }
    }

    @Test("redacted webhook parameters keep no full number, body or account id")
    func redaction() async throws {
        try await withSandbox { sandbox in
            let redacted = sandbox.twilioClient().redacted([
                "To": "+61412345678", "From": "+61400000001", "Body": "my secret", "AccountSid": "AC123", "MediaUrl0": "https://x",
                "MessageStatus": "sent",
            ])
            #expect(redacted == ["To": "+614*****678", "From": "+614*****001", "MessageStatus": "sent"])
        }
    }
}
