import Foundation

/// What a provider error code does beyond failing its message: the one
/// documented list (docs/ARCHITECTURE.md, "Suppression"), used by the send
/// path (a refused request) and by status reports (callbacks and lookups) alike.
///
/// | code | meaning | effect |
/// |---|---|---|
/// | 21610 | the recipient replied STOP to this sender at Twilio | suppress at once |
/// | 21211 | the 'To' number is invalid | suppress at once |
/// | 21614 | the 'To' number is not a mobile number | suppress at once |
/// | 30003, 30005, 30006 | unreachable, unknown handset, landline or unreachable carrier | suppress once it happened `carrierFailuresBeforeSuppression` times to the number |
/// | anything else (30007 spam filtering, 21408 region, 30034 unregistered sender, …) | | the job fails; the number stays |
///
/// Codes about the sender or the account (30002 suspended, 30034) say nothing
/// about the recipient, so they never suppress.
public struct ProviderErrorPolicy: Sendable {
    public enum Effect: Sendable, Equatable {
        case suppressAtOnce
        case suppressOnRepeat
        case failJobOnly
    }

    /// The suppressing codes on repeat suppress a number once they have happened this many times to it.
    public var carrierFailuresBeforeSuppression: Int
    /// The provider's codes that do more than fail the job.
    public let effects: [Int: Effect]

    /// Twilio's table unless another provider's is given.
    public init(carrierFailuresBeforeSuppression: Int = 3, effects: [Int: Effect] = ProviderErrorPolicy.twilioEffects) {
        self.carrierFailuresBeforeSuppression = carrierFailuresBeforeSuppression
        self.effects = effects
    }

    /// Twilio's codes (the table above); `TwilioClient.errorEffect(of:)` reads it too.
    public static let twilioEffects: [Int: Effect] = [
        21610: .suppressAtOnce, 21211: .suppressAtOnce, 21614: .suppressAtOnce,
        30003: .suppressOnRepeat, 30005: .suppressOnRepeat, 30006: .suppressOnRepeat,
    ]

    public func effect(of code: Int) -> Effect { effects[code] ?? .failJobOnly }

    /// The codes with this effect, for SQL.
    public func codes(_ effect: Effect) -> [Int] { effects.filter { $0.value == effect }.map(\.key).sorted() }

    /// Readable text for the error codes a send or a report can carry.
    public static func reason(_ code: Int) -> String {
        let known: [Int: String] = [
            21211: "invalid 'To' number",
            21408: "sending to this region is not enabled",
            21610: "the recipient replied STOP to this sender",
            21612: "the recipient cannot be reached from this sender",
            21614: "the 'To' number is not a mobile number",
            30001: "queue overflow at Twilio",
            30002: "the Twilio account is suspended",
            30003: "unreachable destination handset",
            30004: "message blocked by the recipient or carrier",
            30005: "unknown destination handset",
            30006: "landline or unreachable carrier",
            30007: "carrier filtering (message flagged as spam)",
            30008: "unknown error at the carrier",
            30034: "message from an unregistered number (A2P 10DLC)",
        ]
        return "Twilio \(code): " + (known[code] ?? "see https://www.twilio.com/docs/api/errors/\(code)")
    }
}
