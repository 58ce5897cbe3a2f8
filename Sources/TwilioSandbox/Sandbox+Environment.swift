import Foundation
import Logging
import SMSCore

extension TwilioSandbox.Configuration {
    /// Every `SANDBOX_*` variable that was malformed, by name.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var problems: [(variable: String, message: String)]

        public var description: String {
            "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
                + problems.map { "  - \($0.variable) \($0.message)" }.joined(separator: "\n")
        }
    }

    /// Reads the sandbox's configuration from the environment, collecting every
    /// problem before failing (.env.example documents the variables):
    ///
    /// `TWILIO_ACCOUNT_SID` (default AC000…0), `TWILIO_AUTH_TOKEN` (default devtoken),
    /// `SANDBOX_HOST`, `SANDBOX_PORT`, `SANDBOX_INBOUND_URL` (default
    /// `PUBLIC_BASE_URL` + /webhooks/twilio/inbound when that is set),
    /// `SANDBOX_CALLBACK_DELAY_MS`, `SANDBOX_CALLBACK_RETRIES`, `SANDBOX_CALLBACK_CONCURRENCY`,
    /// and the faults:
    /// `SANDBOX_MAGIC_NUMBERS`, `SANDBOX_UNDELIVERED_SUFFIX`, `SANDBOX_FAILED_SUFFIX`,
    /// `SANDBOX_RATE_429`, `SANDBOX_RATE_500`, `SANDBOX_LATENCY_MS`,
    /// `SANDBOX_HANG_RATE`, `SANDBOX_HANG_SECONDS`.
    public init(environment: [String: String]) throws(Invalid) {
        var problems: [(variable: String, message: String)] = []
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) -> Int {
            guard let raw = value(name) else { return fallback }
            guard let number = Int(raw), range.contains(number) else {
                problems.append((name, "is malformed (expected a whole number, \(range.lowerBound)…\(range.upperBound))"))
                return fallback
            }
            return number
        }

        let port = integer("SANDBOX_PORT", default: 3003, range: 1...65535)
        let delay = integer("SANDBOX_CALLBACK_DELAY_MS", default: 50, range: 0...600_000)
        let retries = integer("SANDBOX_CALLBACK_RETRIES", default: 3, range: 0...20)
        let concurrency = integer("SANDBOX_CALLBACK_CONCURRENCY", default: 16, range: 1...256)
        var inboundURL = value("PUBLIC_BASE_URL").map { base in
            (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/webhooks/twilio/inbound"
        }
        if let explicit = value("SANDBOX_INBOUND_URL") {
            if explicit.hasPrefix("http://") || explicit.hasPrefix("https://") {
                inboundURL = explicit
            } else {
                problems.append(("SANDBOX_INBOUND_URL", "is malformed (expected an http or https URL)"))
            }
        }

        // Faults go through the same checks as `POST /_sandbox/faults`.
        let faultVariables: [(variable: String, field: String)] = [
            ("SANDBOX_MAGIC_NUMBERS", "magic_numbers"), ("SANDBOX_UNDELIVERED_SUFFIX", "undelivered_suffix"),
            ("SANDBOX_FAILED_SUFFIX", "failed_suffix"), ("SANDBOX_RATE_429", "rate_429"), ("SANDBOX_RATE_500", "rate_500"),
            ("SANDBOX_LATENCY_MS", "latency_ms"), ("SANDBOX_HANG_RATE", "hang_rate"), ("SANDBOX_HANG_SECONDS", "hang_seconds"),
        ]
        var faults = SandboxFaults()
        for (variable, field) in faultVariables {
            guard let raw = value(variable) else { continue }
            let json: JSONValue
            switch field {
            case "magic_numbers":
                switch raw.lowercased() {
                case "1", "true", "yes", "on": json = .bool(true)
                case "0", "false", "no", "off": json = .bool(false)
                default: json = .string(raw)
                }
            case "undelivered_suffix", "failed_suffix":
                json = .string(raw)
            default:
                json = Double(raw).map { .number($0) } ?? .string(raw)
            }
            do {
                faults = try faults.applying([field: json])
            } catch {
                problems.append((variable, "is malformed (\(error.reason))"))
            }
        }

        guard problems.isEmpty else { throw Invalid(problems: problems) }
        self.init(
            accountSID: value("TWILIO_ACCOUNT_SID") ?? "AC00000000000000000000000000000000",
            authToken: value("TWILIO_AUTH_TOKEN") ?? "devtoken", host: value("SANDBOX_HOST") ?? "127.0.0.1", port: port,
            callbackDelay: .milliseconds(delay), callbackRetries: retries, callbackConcurrency: concurrency, inboundURL: inboundURL, faults: faults)
    }
}

extension TwilioSandbox {
    /// Logging as the other processes do it: `LOG_FORMAT` (json or text, default
    /// json) and `LOG_LEVEL` (default info).
    public static func bootstrapLogging(environment: [String: String]) {
        let format = environment["LOG_FORMAT"].flatMap { AppConfiguration.LogFormat(rawValue: $0.lowercased()) } ?? .json
        let level = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
        LoggingSetup.bootstrap(format: format, level: level)
    }
}
