import SMSCore
import Testing

@Suite("Message segments")
struct MessageSegmentsTests {
    struct SegmentCase: Sendable, CustomTestStringConvertible {
        let label: String
        let body: String
        let expected: MessageSegments
        var testDescription: String { label }

        init(_ label: String, _ body: String, _ encoding: MessageEncoding, segments: Int, units: Int, remaining: Int) {
            self.label = label
            self.body = body
            self.expected = MessageSegments(
                encoding: encoding, segments: segments, units: units, charactersRemainingInLastSegment: remaining)
        }
    }

    static func repeating(_ text: String, _ count: Int) -> String { String(repeating: text, count: count) }

    static let gsm7Boundaries: [SegmentCase] = [
        SegmentCase("empty body", "", .gsm7, segments: 1, units: 0, remaining: 160),
        SegmentCase("160 characters", repeating("a", 160), .gsm7, segments: 1, units: 160, remaining: 0),
        SegmentCase("161 characters", repeating("a", 161), .gsm7, segments: 2, units: 161, remaining: 145),
        SegmentCase("306 characters", repeating("a", 306), .gsm7, segments: 2, units: 306, remaining: 0),
        SegmentCase("307 characters", repeating("a", 307), .gsm7, segments: 3, units: 307, remaining: 152),
        SegmentCase("1530 characters", repeating("a", 1530), .gsm7, segments: 10, units: 1530, remaining: 0),
        SegmentCase("1531 characters", repeating("a", 1531), .gsm7, segments: 11, units: 1531, remaining: 152),
    ]

    @Test("GSM-7 bodies hold 160 septets in one segment and 153 per concatenated segment", arguments: gsm7Boundaries)
    func gsm7SegmentBoundaries(_ testCase: SegmentCase) {
        #expect(MessageSegments.calculate(testCase.body) == testCase.expected)
    }

    // "ж" is outside GSM-7, so every body here is UCS-2.
    static let ucs2Boundaries: [SegmentCase] = [
        SegmentCase("70 code units", repeating("ж", 70), .ucs2, segments: 1, units: 70, remaining: 0),
        SegmentCase("71 code units", repeating("ж", 71), .ucs2, segments: 2, units: 71, remaining: 63),
        SegmentCase("134 code units", repeating("ж", 134), .ucs2, segments: 2, units: 134, remaining: 0),
        SegmentCase("135 code units", repeating("ж", 135), .ucs2, segments: 3, units: 135, remaining: 66),
        SegmentCase(
            "one non-GSM character turns the whole body into UCS-2", "ж" + repeating("a", 69), .ucs2,
            segments: 1, units: 70, remaining: 0),
        SegmentCase(
            "one non-GSM character in a 100-character body", "ж" + repeating("a", 99), .ucs2,
            segments: 2, units: 100, remaining: 34),
    ]

    @Test("UCS-2 bodies hold 70 code units in one segment and 67 per concatenated segment", arguments: ucs2Boundaries)
    func ucs2SegmentBoundaries(_ testCase: SegmentCase) {
        #expect(MessageSegments.calculate(testCase.body) == testCase.expected)
    }

    static let extensionCharacters: [SegmentCase] = [
        SegmentCase("80 euro signs fill one segment", repeating("€", 80), .gsm7, segments: 1, units: 160, remaining: 0),
        // 76 pairs (152 septets) fit in the first segment; the 77th pair would straddle 153.
        SegmentCase("81 euro signs need two", repeating("€", 81), .gsm7, segments: 2, units: 162, remaining: 143),
        SegmentCase("every extension character costs two septets", "^{}\\[~]|€\u{0C}", .gsm7, segments: 1, units: 20, remaining: 140),
        // 155 septets still fit one segment, so nothing moves yet.
        SegmentCase(
            "an extension character at 153 in a single-segment body", repeating("a", 152) + "€" + "a", .gsm7,
            segments: 1, units: 155, remaining: 5),
        // Without the rule this would be 153 + 8; ESC lands at 153 and its character at 154, so € moves.
        SegmentCase(
            "an extension character straddling 153 moves to the next segment",
            repeating("a", 152) + "€" + repeating("a", 7), .gsm7, segments: 2, units: 161, remaining: 144),
        // 306 septets would be exactly two full segments, but the moved € leaves a gap and pushes one septet over.
        SegmentCase(
            "a moved extension character can cost a whole extra segment",
            repeating("a", 152) + "€" + repeating("a", 152), .gsm7, segments: 3, units: 306, remaining: 152),
        SegmentCase(
            "an extension character ending exactly at 153 stays put",
            repeating("a", 151) + "€" + repeating("a", 153), .gsm7, segments: 2, units: 306, remaining: 0),
    ]

    @Test("extension characters cost two septets and are never split", arguments: extensionCharacters)
    func extensionCharactersAreEscapePairs(_ testCase: SegmentCase) {
        #expect(MessageSegments.calculate(testCase.body) == testCase.expected)
    }

    static let surrogatePairs: [SegmentCase] = [
        SegmentCase("one emoji", "😀", .ucs2, segments: 1, units: 2, remaining: 68),
        SegmentCase("35 emoji fill one segment", repeating("😀", 35), .ucs2, segments: 1, units: 70, remaining: 0),
        // 33 emoji (66 units) per concatenated segment: a 34th would straddle 67.
        SegmentCase("36 emoji need two", repeating("😀", 36), .ucs2, segments: 2, units: 72, remaining: 61),
        SegmentCase(
            "an emoji straddling 67 moves to the next segment",
            repeating("ж", 66) + "😀" + repeating("ж", 66), .ucs2, segments: 3, units: 134, remaining: 66),
        SegmentCase(
            "an emoji ending exactly at 67 stays put",
            repeating("ж", 65) + "😀" + repeating("ж", 67), .ucs2, segments: 2, units: 134, remaining: 0),
    ]

    @Test("surrogate pairs cost two code units and are never split", arguments: surrogatePairs)
    func surrogatePairsStayTogether(_ testCase: SegmentCase) {
        #expect(MessageSegments.calculate(testCase.body) == testCase.expected)
    }

    struct CharacterCase: Sendable, CustomTestStringConvertible {
        let label: String
        let body: String
        let encoding: MessageEncoding
        let units: Int
        var testDescription: String { label }
        init(_ label: String, _ body: String, _ encoding: MessageEncoding, units: Int) {
            self.label = label
            self.body = body
            self.encoding = encoding
            self.units = units
        }
    }

    static let characters: [CharacterCase] = [
        CharacterCase("pound sign is in the basic table", "£", .gsm7, units: 1),
        CharacterCase("e acute is in the basic table", "é", .gsm7, units: 1),
        CharacterCase("capital C cedilla is in the basic table (0x09)", "Ç", .gsm7, units: 1),
        CharacterCase("lowercase c cedilla is not", "ç", .ucs2, units: 1),
        CharacterCase("a acute is not", "á", .ucs2, units: 1),
        CharacterCase("basic-table accents and symbols", "ñüàÄÖÑÜ§¿¡¤¥ØøÅåÆæßÉèùìò", .gsm7, units: 24),
        CharacterCase("Greek capitals in the basic table", "ΔΦΓΛΩΠΨΣΘΞ", .gsm7, units: 10),
        CharacterCase("Greek capital omega, not the ohm sign", "\u{2126}", .ucs2, units: 1),
        CharacterCase("Greek capital alpha is not in the table", "\u{391}", .ucs2, units: 1),
        CharacterCase("right single quotation mark (smart apostrophe)", "don\u{2019}t", .ucs2, units: 5),
        CharacterCase("smart double quotes", "\u{201C}hi\u{201D}", .ucs2, units: 4),
        CharacterCase("em dash", "a\u{2014}b", .ucs2, units: 3),
        CharacterCase("non-breaking space", "a\u{A0}b", .ucs2, units: 3),
        CharacterCase("backtick is not GSM-7", "`", .ucs2, units: 1),
        CharacterCase("tab is not GSM-7", "a\tb", .ucs2, units: 3),
        CharacterCase("CRLF is two septets though Swift sees one Character", "a\r\nb", .gsm7, units: 4),
        CharacterCase("decomposed e acute is not normalised", "e\u{301}", .ucs2, units: 2),
        CharacterCase("form feed is an extension character", "\u{0C}", .gsm7, units: 2),
        CharacterCase("ASCII punctuation in the basic table", "@$_!\"#%&'()*+,-./:;<=>?", .gsm7, units: 23),
    ]

    @Test("characters are classified by the GSM 03.38 tables, not transliterated", arguments: characters)
    func characterClassification(_ testCase: CharacterCase) {
        let result = MessageSegments.calculate(testCase.body)

        #expect(result.encoding == testCase.encoding)
        #expect(result.units == testCase.units)
    }

    @Test("encodings use the raw values the database CHECK constraint accepts")
    func encodingRawValues() {
        #expect(MessageEncoding.gsm7.rawValue == "gsm7")
        #expect(MessageEncoding.ucs2.rawValue == "ucs2")
    }

    @Test("the limits match Twilio: 10 segments and a 1600-character body")
    func limits() {
        #expect(MessageSegments.maximumSegments == 10)
        #expect(MessageSegments.maximumBodyCharacters == 1600)
        #expect(MessageSegments.calculate(String(repeating: "ж", count: 670)).segments == MessageSegments.maximumSegments)
    }
}
