import Foundation
import Testing

@testable import TwilioSandbox

@Suite("Twilio sandbox: configuration and dates")
struct SandboxConfigurationTests {
    @Test("an empty environment gives the documented defaults")
    func defaults() throws {
        let configuration = try TwilioSandbox.Configuration(environment: [:])

        #expect(configuration.accountSID == "AC00000000000000000000000000000000")
        #expect(configuration.authToken == "devtoken")
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 3003)
        #expect(configuration.callbackDelay == .milliseconds(50))
        #expect(configuration.callbackRetries == 3)
        #expect(configuration.inboundURL == nil)
        #expect(configuration.faults == SandboxFaults())
    }

    @Test("SANDBOX_* variables set the faults, and the inbound URL defaults from PUBLIC_BASE_URL")
    func faultsFromEnvironment() throws {
        let configuration = try TwilioSandbox.Configuration(environment: [
            "SANDBOX_PORT": "4003", "SANDBOX_MAGIC_NUMBERS": "off", "SANDBOX_UNDELIVERED_SUFFIX": "0007",
            "SANDBOX_FAILED_SUFFIX": "0008", "SANDBOX_RATE_429": "0.25", "SANDBOX_RATE_500": "0.5", "SANDBOX_LATENCY_MS": "15",
            "SANDBOX_HANG_RATE": "1", "SANDBOX_HANG_SECONDS": "2.5", "SANDBOX_CALLBACK_DELAY_MS": "0",
            "PUBLIC_BASE_URL": "http://api:3000/",
        ])

        #expect(configuration.port == 4003)
        #expect(configuration.callbackDelay == .zero)
        #expect(configuration.inboundURL == "http://api:3000/webhooks/twilio/inbound")
        #expect(
            configuration.faults
                == SandboxFaults(
                    magicNumbers: false, undeliveredSuffix: "0007", failedSuffix: "0008", rateLimitedRate: 0.25, serverErrorRate: 0.5,
                    latencyMilliseconds: 15, hangRate: 1, hangSeconds: 2.5))
    }

    @Test("SANDBOX_INBOUND_URL wins over PUBLIC_BASE_URL")
    func explicitInboundURL() throws {
        let configuration = try TwilioSandbox.Configuration(environment: [
            "PUBLIC_BASE_URL": "http://api:3000", "SANDBOX_INBOUND_URL": "http://127.0.0.1:9/in",
        ])

        #expect(configuration.inboundURL == "http://127.0.0.1:9/in")
    }

    @Test("every malformed variable is reported at once")
    func everyProblemAtOnce() {
        let error = #expect(throws: TwilioSandbox.Configuration.Invalid.self) {
            try TwilioSandbox.Configuration(environment: [
                "SANDBOX_PORT": "99999", "SANDBOX_RATE_429": "2", "SANDBOX_LATENCY_MS": "soon", "SANDBOX_UNDELIVERED_SUFFIX": "abc",
                "SANDBOX_INBOUND_URL": "ftp://x", "SANDBOX_MAGIC_NUMBERS": "perhaps",
            ])
        }

        #expect(
            Set(error?.problems.map(\.variable) ?? [])
                == [
                    "SANDBOX_PORT", "SANDBOX_RATE_429", "SANDBOX_LATENCY_MS", "SANDBOX_UNDELIVERED_SUFFIX", "SANDBOX_INBOUND_URL",
                    "SANDBOX_MAGIC_NUMBERS",
                ])
    }

    @Test("dates are written as Twilio writes them (RFC 2822, UTC)")
    func rfc2822() {
        #expect(TwilioDate.rfc2822(Date(timeIntervalSince1970: 1_438_287_151)) == "Thu, 30 Jul 2015 20:12:31 +0000")
        #expect(TwilioDate.rfc2822(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(TwilioDate.rfc2822(Date(timeIntervalSince1970: 951_782_400)) == "Tue, 29 Feb 2000 00:00:00 +0000")
    }

    @Test("list filter values are whole days or instants")
    func filterValues() {
        let day = TwilioDate.parseFilter("2015-07-30")
        let instant = TwilioDate.parseFilter("2015-07-30T20:12:31Z")
        let offset = TwilioDate.parseFilter("2015-07-31T06:12:31+10:00")

        #expect(day == .day(start: Date(timeIntervalSince1970: 1_438_214_400)))
        #expect(day?.upperBound == Date(timeIntervalSince1970: 1_438_300_800))
        #expect(instant == .instant(Date(timeIntervalSince1970: 1_438_287_151)))
        #expect(offset == instant)
        #expect(TwilioDate.parseFilter("2015-02-30") == nil)
        #expect(TwilioDate.parseFilter("yesterday") == nil)
        #expect(TwilioDate.parseFilter("2015-07-30T20:12") == nil)
    }
}
