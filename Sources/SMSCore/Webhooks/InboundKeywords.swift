import Foundation

/// What an inbound message asks for, when its whole text is a keyword.
public enum InboundKeyword: String, Sendable, Equatable {
    case optOut = "opt_out"
    case optIn = "opt_in"
    case help
}

/// Twilio's standard keywords (and the CTIA list), matched on the whole
/// message, ignoring case, whitespace and punctuation: " Stop. " opts out,
/// "stop please" and "don't stop" do not.
public enum InboundKeywords {
    static let optOut: Set<String> = [
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE", "STOP ALL", "OPT OUT",
    ]
    static let optIn: Set<String> = ["START", "YES", "UNSTOP"]
    static let help: Set<String> = ["HELP", "INFO"]

    /// Upper case, punctuation dropped, runs of whitespace made one space, trimmed.
    public static func normalize(_ body: String) -> String {
        var words: [String] = []
        var current = ""
        for character in body.uppercased() {
            if character.isLetter || character.isNumber {
                current.append(character)
            } else if character.isWhitespace {
                if !current.isEmpty { words.append(current) }
                current = ""
            }
            // Anything else (punctuation, symbols, emoji) is dropped.
        }
        if !current.isEmpty { words.append(current) }
        return words.joined(separator: " ")
    }

    public static func classify(_ body: String) -> InboundKeyword? {
        let text = normalize(body)
        if optOut.contains(text) { return .optOut }
        if optIn.contains(text) { return .optIn }
        if help.contains(text) { return .help }
        return nil
    }
}

/// Readable text for the Twilio error codes a send or a callback can carry.
public enum TwilioErrorCodes {
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

    /// Codes after which a number is suppressed at once.
    public static let suppressAtOnce: Set<Int> = [21610]
    /// Carrier codes after which a number is suppressed once they repeat.
    public static let suppressOnRepeat: Set<Int> = [30003, 30005, 30006]
}
