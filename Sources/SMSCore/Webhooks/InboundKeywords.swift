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
