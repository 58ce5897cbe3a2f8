import Foundation
import SMSCore
import Synchronization

/// The failures the sandbox injects, so the send pipeline's error paths can be
/// exercised without Twilio. Set at start-up (`SANDBOX_*` variables) and changed
/// at runtime through `POST /_sandbox/faults`.
///
/// JSON names (also those of `GET /_sandbox/faults`) are given with each field.
public struct SandboxFaults: Sendable, Equatable {
    /// `magic_numbers`: Twilio's magic test recipients answer with their documented
    /// errors (+15005550001 → 21211, …0002 → 21612, …0003 → 21408, …0004 → 21610,
    /// …0009 → 21614). Default on.
    public var magicNumbers = true
    /// `undelivered_suffix`: recipients ending in this suffix are accepted and
    /// sent, then end `undelivered` with error 30007 (carrier filtering). Default none.
    public var undeliveredSuffix: String?
    /// `failed_suffix`: recipients ending in this suffix are accepted, then end
    /// `failed` with error 30008 without ever being sent. Default none.
    public var failedSuffix: String?
    /// `rate_429`: the fraction (0…1) of message creations refused with 429 /
    /// code 20429 before anything is stored. Default 0.
    public var rateLimitedRate = 0.0
    /// `rate_500`: the fraction (0…1) of message creations answered 500 / code
    /// 20500 before anything is stored. Default 0.
    public var serverErrorRate = 0.0
    /// `latency_ms`: added before every Messages API answer. Default 0.
    public var latencyMilliseconds = 0
    /// `hang_rate`: the fraction (0…1) of accepted creations whose answer is held
    /// back for ``hangSeconds``. The message is stored and goes through its
    /// lifecycle as usual, so the client, which times out, cannot know whether it
    /// was sent: the ambiguous case the worker settles by listing messages. Default 0.
    public var hangRate = 0.0
    /// `hang_seconds`: how long a hung answer is held. Default 30.
    public var hangSeconds = 30.0

    public init(
        magicNumbers: Bool = true, undeliveredSuffix: String? = nil, failedSuffix: String? = nil,
        rateLimitedRate: Double = 0, serverErrorRate: Double = 0, latencyMilliseconds: Int = 0, hangRate: Double = 0,
        hangSeconds: Double = 30
    ) {
        self.magicNumbers = magicNumbers
        self.undeliveredSuffix = undeliveredSuffix
        self.failedSuffix = failedSuffix
        self.rateLimitedRate = rateLimitedRate
        self.serverErrorRate = serverErrorRate
        self.latencyMilliseconds = latencyMilliseconds
        self.hangRate = hangRate
        self.hangSeconds = hangSeconds
    }

    /// The JSON shape of `GET /_sandbox/faults`.
    var json: [String: JSONValue] {
        [
            "magic_numbers": .bool(magicNumbers),
            "undelivered_suffix": undeliveredSuffix.map { .string($0) } ?? .null,
            "failed_suffix": failedSuffix.map { .string($0) } ?? .null,
            "rate_429": .number(rateLimitedRate),
            "rate_500": .number(serverErrorRate),
            "latency_ms": .number(Double(latencyMilliseconds)),
            "hang_rate": .number(hangRate),
            "hang_seconds": .number(hangSeconds),
        ]
    }

    /// A problem with one field of a fault change.
    public struct Invalid: Error, Sendable, Equatable {
        public var field: String
        public var reason: String
    }

    /// These faults with the fields present in `patch` replaced; `null` clears a
    /// suffix. Unknown fields and out-of-range values are refused, so a typo never
    /// silently leaves a fault off.
    func applying(_ patch: [String: JSONValue]) throws(Invalid) -> SandboxFaults {
        var result = self
        for (field, value) in patch.sorted(by: { $0.key < $1.key }) {
            switch field {
            case "magic_numbers":
                guard case .bool(let flag) = value else { throw Invalid(field: field, reason: "must be true or false") }
                result.magicNumbers = flag
            case "undelivered_suffix":
                result.undeliveredSuffix = try Self.suffix(value, field: field)
            case "failed_suffix":
                result.failedSuffix = try Self.suffix(value, field: field)
            case "rate_429":
                result.rateLimitedRate = try Self.fraction(value, field: field)
            case "rate_500":
                result.serverErrorRate = try Self.fraction(value, field: field)
            case "hang_rate":
                result.hangRate = try Self.fraction(value, field: field)
            case "latency_ms":
                guard case .number(let ms) = value, ms >= 0, ms <= 600_000, ms.rounded() == ms else {
                    throw Invalid(field: field, reason: "must be a whole number of milliseconds, 0…600000")
                }
                result.latencyMilliseconds = Int(ms)
            case "hang_seconds":
                guard case .number(let seconds) = value, seconds >= 0, seconds <= 3600 else {
                    throw Invalid(field: field, reason: "must be a number of seconds, 0…3600")
                }
                result.hangSeconds = seconds
            default:
                throw Invalid(field: field, reason: "is not a sandbox fault")
            }
        }
        return result
    }

    private static func fraction(_ value: JSONValue, field: String) throws(Invalid) -> Double {
        guard case .number(let rate) = value, (0...1).contains(rate) else {
            throw Invalid(field: field, reason: "must be a fraction between 0 and 1")
        }
        return rate
    }

    private static func suffix(_ value: JSONValue, field: String) throws(Invalid) -> String? {
        switch value {
        case .null: return nil
        case .string(let text) where text.isEmpty: return nil
        case .string(let text) where text.allSatisfy({ $0.isASCII && $0.isNumber }): return text
        default: throw Invalid(field: field, reason: "must be a string of digits, or null")
        }
    }
}

/// The faults in force, shared by every request; changed by the admin endpoint.
public final class SandboxFaultSettings: Sendable {
    /// What `DELETE /_sandbox/faults` goes back to: the start-up configuration.
    public let initial: SandboxFaults
    private let state: Mutex<SandboxFaults>

    public init(_ initial: SandboxFaults) {
        self.initial = initial
        self.state = Mutex(initial)
    }

    public var current: SandboxFaults { state.withLock { $0 } }

    public func set(_ faults: SandboxFaults) { state.withLock { $0 = faults } }

    /// Applies a partial change atomically and returns the result.
    func apply(_ patch: [String: JSONValue]) throws(SandboxFaults.Invalid) -> SandboxFaults {
        try state.withLock { (faults: inout SandboxFaults) throws(SandboxFaults.Invalid) -> SandboxFaults in
            faults = try faults.applying(patch)
            return faults
        }
    }

    public func reset() { set(initial) }
}

/// Twilio's magic test recipients and what Twilio answers for each (test credentials docs).
enum MagicRecipient {
    static func error(for to: String, from: String) -> (code: Int, message: String)? {
        switch to {
        case "+15005550001": (21211, "The 'To' number \(to) is not a valid phone number.")
        case "+15005550002": (21612, "The 'To' phone number: \(to), is not currently reachable using the 'From' phone number: \(from) via SMS.")
        case "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: \(to).")
        case "+15005550004": (21610, "Attempt to send to unsubscribed recipient")
        case "+15005550009": (21614, "'To' number is not a valid mobile number")
        default: nil
        }
    }
}
