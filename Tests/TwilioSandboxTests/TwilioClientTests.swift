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
            guard case .rejected(let code, _) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(code == 21211)
        }
    }

    @Test("429 is retryable: Twilio did not act on the request")
    func rateLimited() async throws {
        try await withSandbox(faults: SandboxFaults(rateLimitedRate: 1)) { sandbox in
            let outcome = await sandbox.twilioClient().send(message)
            guard case .retryable = outcome else { Issue.record("got \(outcome)"); return }
        }
    }

    @Test("a 500 is ambiguous: Twilio may have created the message")
    func serverError() async throws {
        try await withSandbox(faults: SandboxFaults(serverErrorRate: 1)) { sandbox in
            let outcome = await sandbox.twilioClient().send(message)
            guard case .ambiguous = outcome else { Issue.record("got \(outcome)"); return }
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
            guard case .retryable = outcome else { Issue.record("got \(outcome)"); return }
        }
    }

    @Test("wrong credentials are retried later rather than failing the message")
    func wrongCredentials() async throws {
        try await withSandbox { sandbox in
            let outcome = await sandbox.twilioClient(token: "wrong").send(message)
            guard case .retryable(_, let after) = outcome else { Issue.record("got \(outcome)"); return }
            #expect(after == .seconds(60))
        }
    }
}
