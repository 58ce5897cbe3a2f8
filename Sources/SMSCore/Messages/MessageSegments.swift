/// How a message body is encoded on the air interface.
///
/// The raw values are stored in `send_jobs.encoding`, whose CHECK constraint
/// accepts exactly `'gsm7'` and `'ucs2'`.
public enum MessageEncoding: String, Sendable, Codable {
    /// The GSM 03.38 default alphabet (7-bit septets), with its extension table.
    case gsm7
    /// UTF-16 (carriers still call it UCS-2), used as soon as one character falls outside GSM-7.
    case ucs2
}

/// The number of SMS segments a body costs, counted the way carriers and Twilio count them.
///
/// Segments are what carriers bill and what budgets reserve, so this must agree
/// with Twilio's `num_segments`, not with what looks like "characters" on screen:
///
/// - If every character is in the GSM 03.38 basic table or its extension table,
///   the body is GSM-7. Extension characters (`^ { } \ [ ] ~ | €` and form feed)
///   are sent as ESC + character and cost 2 septets. A single segment holds 160
///   septets; a concatenated one holds 153 because the 6-octet user data header
///   takes 7 septets. An ESC pair is never split across segments, so an extension
///   character that would straddle the boundary starts the next segment.
/// - Otherwise the whole body is UCS-2 (UTF-16): 70 code units in a single
///   segment, 67 per concatenated segment, and a surrogate pair (an emoji, say)
///   is never split across segments.
///
/// Nothing is transliterated: smart quotes, em dashes, non-breaking spaces and
/// decomposed accents are not GSM-7 and force UCS-2, because that is what the
/// carrier will do with the bytes we hand to Twilio.
public struct MessageSegments: Sendable, Equatable {
    /// The encoding the body will be sent in.
    public let encoding: MessageEncoding
    /// How many SMS segments the body occupies (at least 1).
    public let segments: Int
    /// Septets for GSM-7 (extension characters count 2), UTF-16 code units for UCS-2.
    public let units: Int
    /// Units (septets or code units) still free in the last segment before another one is needed.
    public let charactersRemainingInLastSegment: Int

    /// Creates a segment count; use ``calculate(_:)`` to derive one from a body.
    public init(encoding: MessageEncoding, segments: Int, units: Int, charactersRemainingInLastSegment: Int) {
        self.encoding = encoding
        self.segments = segments
        self.units = units
        self.charactersRemainingInLastSegment = charactersRemainingInLastSegment
    }

    /// The most segments one campaign message may cost.
    ///
    /// Twilio documents 670 characters as the Unicode ceiling (10 × 67) and warns that
    /// some carriers mishandle messages longer than 10 segments; capping at 10 also
    /// bounds what a single send can cost. Note that for GSM-7 this is tighter than
    /// ``maximumBodyCharacters``: 10 segments hold 1,530 septets, while 1,600 GSM
    /// characters would need 11.
    public static let maximumSegments = 10

    /// Twilio's limit on the `Body` parameter of the Messages resource (error 21617 above it).
    ///
    /// It is also the bound of the `send_jobs.body` CHECK constraint. Callers should
    /// measure bodies in UTF-16 code units (`body.utf16.count`): Twilio counts an emoji
    /// as more than one character, and UTF-16 length is never below PostgreSQL's
    /// `char_length`, so a body that passes here passes both.
    public static let maximumBodyCharacters = 1600

    /// Counts the segments, units and remaining room for `body`.
    ///
    /// An empty body is reported as one GSM-7 segment of 0 units; the API refuses
    /// empty bodies before they get this far.
    public static func calculate(_ body: String) -> MessageSegments {
        if let septets = gsm7Septets(body) {
            return pack(septets, encoding: .gsm7, single: 160, concatenated: 153)
        }
        // One entry per Unicode scalar: 1 code unit, or 2 for a surrogate pair that must stay together.
        let codeUnits = body.unicodeScalars.map { UTF16.width($0) }
        return pack(codeUnits, encoding: .ucs2, single: 70, concatenated: 67)
    }

    /// The septet cost of each scalar, or nil as soon as one is outside GSM-7.
    ///
    /// Iterates scalars rather than `Character`s because a grapheme such as "\r\n"
    /// or "e" + combining acute is several code points on the wire.
    private static func gsm7Septets(_ body: String) -> [Int]? {
        var costs: [Int] = []
        costs.reserveCapacity(body.unicodeScalars.count)
        for scalar in body.unicodeScalars {
            if gsm7Basic.contains(scalar) {
                costs.append(1)
            } else if gsm7Extension.contains(scalar) {
                costs.append(2)
            } else {
                return nil
            }
        }
        return costs
    }

    /// Fills segments greedily with indivisible items of the given unit sizes.
    private static func pack(_ items: [Int], encoding: MessageEncoding, single: Int, concatenated: Int) -> MessageSegments {
        let total = items.reduce(0, +)
        if total <= single {
            return MessageSegments(
                encoding: encoding, segments: 1, units: total, charactersRemainingInLastSegment: single - total)
        }
        var segments = 1
        var used = 0
        for size in items {
            if used + size > concatenated {
                // The item would straddle the boundary; it starts the next segment and the gap stays unused.
                segments += 1
                used = 0
            }
            used += size
        }
        return MessageSegments(
            encoding: encoding, segments: segments, units: total,
            charactersRemainingInLastSegment: concatenated - used)
    }

    /// GSM 03.38 default alphabet, one line per row of the table (0x00–0x7F), ESC (0x1B) left out.
    ///
    /// 0x09 is the capital "Ç" as ETSI draws it; the lowercase "ç" is not in the alphabet.
    /// Greek capitals are written as escapes so look-alike Latin letters cannot slip in.
    private static let gsm7Basic: Set<Unicode.Scalar> = Set(
        [
            "@£$¥èéùìòÇ\nØø\rÅå",
            "\u{394}_\u{3A6}\u{393}\u{39B}\u{3A9}\u{3A0}\u{3A8}\u{3A3}\u{398}\u{39E}ÆæßÉ",
            " !\"#¤%&'()*+,-./",
            "0123456789:;<=>?",
            "¡ABCDEFGHIJKLMNO",
            "PQRSTUVWXYZÄÖÑÜ§",
            "¿abcdefghijklmno",
            "pqrstuvwxyzäöñüà",
        ].joined().unicodeScalars)

    /// GSM 03.38 extension table characters, each sent as ESC + character (2 septets).
    private static let gsm7Extension: Set<Unicode.Scalar> = Set("\u{0C}^{}\\[~]|€".unicodeScalars)
}
