import Foundation

/// TwiML for an inbound reply.
public enum TwiML {
    public static func response(message: String?) -> String {
        guard let message else { return #"<?xml version="1.0" encoding="UTF-8"?><Response/>"# }
        var escaped = ""
        for character in message {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&apos;"
            default: escaped.append(character)
            }
        }
        return #"<?xml version="1.0" encoding="UTF-8"?><Response><Message>"# + escaped + "</Message></Response>"
    }
}
