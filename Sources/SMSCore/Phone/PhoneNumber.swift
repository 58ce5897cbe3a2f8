import Foundation

/// A phone number that has been checked and normalised to E.164, the only form
/// the rest of the system stores, compares, dedupes or sends to.
///
/// Build one with ``parse(_:defaultCountry:)`` from whatever a person typed or
/// a CSV held, or with ``init(e164:)`` when reading back a value that was
/// parsed before. Two numbers are equal when their E.164 strings are.
///
/// The verdict on a number (valid or not, its country, its type) is Google's
/// libphonenumber's, for every region (issue 16); ``LibPhoneNumber`` is the
/// only code that talks to it. What stays hand-written here is what the
/// product decides and the library does not: refusing letters and extensions
/// instead of guessing, "00" as an international prefix everywhere, and error
/// texts a person understands.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number in E.164 form, e.g. `+61412345678`.
    public let e164: String
    /// The ISO 3166 country the number belongs to, e.g. `AU` or `JE` for a
    /// Jersey number under +44; `nil` for global services such as +800 or
    /// +882 that belong to no country.
    public let country: String?
    /// The country calling code without the `+`, e.g. `61`.
    public let callingCode: String
    /// What kind of line it is; `.unknown` when libphonenumber cannot tell
    /// (a stored number that is not valid under today's metadata).
    public let type: PhoneNumberType

    /// The digits after the calling code: what the country's own numbering
    /// plan calls the national significant number, e.g. `412345678`.
    public var nationalSignificantNumber: String {
        String(e164.dropFirst(1 + callingCode.count))
    }

    public var description: String { e164 }

    /// The number as written inside its country, e.g. `0412 345 678`.
    public var nationalFormat: String { LibPhoneNumber.format(e164, as: .national) ?? e164 }
    /// The number as written abroad, e.g. `+61 412 345 678`.
    public var internationalFormat: String { LibPhoneNumber.format(e164, as: .international) ?? e164 }

    private init(_ parsed: LibPhoneNumber.Parsed, fallbackCountry: String?) {
        e164 = parsed.e164
        callingCode = String(parsed.countryCode)
        country = parsed.region ?? fallbackCountry
        type = parsed.isValid ? parsed.type : .unknown
    }

    /// Rebuilds a number that was stored in E.164 form.
    ///
    /// Only the E.164 shape and the calling code are checked, not validity, so
    /// a number accepted under older rules (or older metadata) still loads.
    /// - Returns: `nil` when `e164` is not E.164 or its calling code is not assigned.
    public init?(e164: String) {
        guard Self.isValidE164(e164), case .success(let parsed) = LibPhoneNumber.parse(e164, region: "ZZ") else {
            return nil
        }
        self.init(parsed, fallbackCountry: LibPhoneNumber.mainRegion(forCountryCode: parsed.countryCode))
    }

    public static func == (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool { lhs.e164 == rhs.e164 }
    public func hash(into hasher: inout Hasher) { hasher.combine(e164) }

    /// Whether `s` is shaped like E.164: `+`, a non-zero digit, then 6 to 14
    /// more digits. The same rule as the database's CHECK constraint on
    /// `phone_e164` columns (`^\+[1-9][0-9]{6,14}$`), which stays because the
    /// database must not depend on a C++ library to keep its data sane.
    /// A tenant's default country, upper-cased, when it is a two-letter region
    /// whose numbers libphonenumber can parse; nil otherwise (issue 12: `ZZ`
    /// was accepted, and then every number of the tenant was refused).
    public static func supportedCountry(_ code: String) -> String? {
        let code = code.uppercased()
        guard code.count == 2, code.allSatisfy({ $0.isASCII && $0.isLetter }), LibPhoneNumber.countryCode(forRegion: code) != nil else {
            return nil
        }
        return code
    }

    public static func isValidE164(_ s: String) -> Bool {
        let bytes = Array(s.utf8)
        guard bytes.count >= 8, bytes.count <= 16, bytes[0] == UInt8(ascii: "+") else { return false }
        guard (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(bytes[1]) else { return false }
        return bytes.dropFirst(2).allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    /// Parses a phone number as a person would write it.
    ///
    /// Spaces, dashes, dots and parentheses are ignored; a `+` may only come
    /// before the first digit. Anything else (letters, `#`, `*`, extensions
    /// such as "x123") is refused rather than guessed at, although
    /// libphonenumber would read "1-800-FLOWERS" or drop an extension.
    ///
    /// The digits then go to libphonenumber with `defaultCountry` as the
    /// region: it knows every country's trunk and international prefixes
    /// (`0011` in AU, `011` in the NANP), digits that already start with the
    /// calling code ("61412345678"), and which numbers are valid. One rule is
    /// added: digits starting with `00` that are not a valid national number
    /// are read as international, as people abroad write them everywhere.
    ///
    /// Every valid number is accepted, whatever its ``type``; whether it can
    /// receive a text is decided where a text would be sent.
    ///
    /// - Parameters:
    ///   - input: the number as typed.
    ///   - defaultCountry: ISO 3166 alpha-2 code (case-insensitive) used for
    ///     national-form input; checked even when `input` is international, so
    ///     a misconfigured tenant is noticed on the first number.
    /// - Throws: ``PhoneNumberError`` saying why the number is impossible.
    public static func parse(_ input: String, defaultCountry: String) throws(PhoneNumberError) -> PhoneNumber {
        let region = defaultCountry.trimmingCharacters(in: .whitespaces).uppercased()
        guard region.count == 2, LibPhoneNumber.countryCode(forRegion: region) != nil else {
            throw .unsupportedDefaultCountry(defaultCountry)
        }
        let (digits, international) = try scan(input)
        guard !digits.isEmpty else { throw .empty }

        if international {
            return try verdict(on: LibPhoneNumber.parse("+" + digits, region: region), internationalDigits: digits)
        }
        do {
            return try verdict(on: LibPhoneNumber.parse(digits, region: region), nationalIn: region)
        } catch {
            guard digits.hasPrefix("00"), digits.count > 2 else { throw error }
            let rest = String(digits.dropFirst(2))
            if case .success(let parsed) = LibPhoneNumber.parse("+" + rest, region: region), parsed.isValid {
                return PhoneNumber(parsed, fallbackCountry: nil)
            }
            throw error
        }
    }

    private static func verdict(
        on result: Result<LibPhoneNumber.Parsed, LibPhoneNumber.ParseError>, internationalDigits digits: String
    ) throws(PhoneNumberError) -> PhoneNumber {
        switch result {
        case .failure(.invalidCountryCode): throw .unknownCountryCode(String(digits.prefix(3)))
        case .failure(.tooLongNSN): throw .tooLong(country: nil)
        case .failure: throw .tooShort(country: nil)
        case .success(let parsed):
            return try accepted(parsed, country: parsed.region ?? LibPhoneNumber.mainRegion(forCountryCode: parsed.countryCode))
        }
    }

    private static func verdict(
        on result: Result<LibPhoneNumber.Parsed, LibPhoneNumber.ParseError>, nationalIn region: String
    ) throws(PhoneNumberError) -> PhoneNumber {
        switch result {
        case .failure(.invalidCountryCode), .failure(.notANumber): throw .invalidForCountry(country: region)
        case .failure(.tooLongNSN): throw .tooLong(country: region)
        case .failure: throw .tooShort(country: region)
        case .success(let parsed):
            // A national number that is not valid is reported in the country it
            // was written for, even when its calling code is shared (a CA
            // tenant's number is "not valid in Canada", not in the US).
            return try accepted(parsed, country: parsed.isValid ? parsed.region : region)
        }
    }

    private static func accepted(_ parsed: LibPhoneNumber.Parsed, country: String?) throws(PhoneNumberError) -> PhoneNumber {
        if parsed.isValid { return PhoneNumber(parsed, fallbackCountry: country) }
        switch parsed.possibility {
        case .tooShort: throw .tooShort(country: country)
        case .tooLong: throw .tooLong(country: country)
        case .invalidCountryCode: throw .unknownCountryCode(String(parsed.countryCode))
        // A length between the country's shortest and longest that none of its numbers has
        // is, for the person reading the error, just not a valid number.
        case .possible, .possibleLocalOnly, .invalidLength: throw .invalidForCountry(country: country)
        }
    }

    /// Keeps the digits and notes a leading `+`; refuses anything that is not
    /// punctuation people use when writing numbers.
    private static func scan(_ input: String) throws(PhoneNumberError) -> (digits: String, international: Bool) {
        var digits = String.UnicodeScalarView()
        var sawPlus = false
        for scalar in input.unicodeScalars {
            switch scalar {
            case "0"..."9":
                digits.append(scalar)
            case "+":
                guard !sawPlus, digits.isEmpty else { throw .misplacedPlusSign }
                sawPlus = true
            // Hyphen, non-breaking hyphen, figure/en/em dashes and minus sign
            // arrive in numbers pasted from documents and web pages.
            case "-", ".", "(", ")", "\u{2010}"..."\u{2015}", "\u{2212}":
                continue
            case _ where scalar.properties.isWhitespace:
                continue
            default:
                throw .invalidCharacters
            }
        }
        return (String(digits), sawPlus)
    }
}

extension PhoneNumber {
    /// A number found in free text.
    public struct Match: Sendable, Hashable {
        public let number: PhoneNumber
        /// Where in the text it was written.
        public let range: Range<String.Index>
    }

    /// The valid numbers written in `text` (libphonenumber's `PhoneNumberMatcher`),
    /// national ones read as `defaultCountry`'s, in the order they appear; at most `limit`.
    ///
    /// Meant for the email-to-SMS gateway's opt-in, "the number from the subject or
    /// body" (issue 14), which has not landed yet: it should call this rather than
    /// scan for digits itself.
    public static func find(in text: String, defaultCountry: String, limit: Int = 20) -> [Match] {
        let region = defaultCountry.trimmingCharacters(in: .whitespaces).uppercased()
        let utf8 = text.utf8
        return LibPhoneNumber.find(in: text, region: region, limit: limit).compactMap { found in
            guard found.utf8Range.lowerBound >= 0, found.utf8Range.upperBound <= utf8.count else { return nil }
            let lower = utf8.index(utf8.startIndex, offsetBy: found.utf8Range.lowerBound)
            let upper = utf8.index(lower, offsetBy: found.utf8Range.count)
            return Match(number: PhoneNumber(found.number, fallbackCountry: nil), range: lower..<upper)
        }
    }
}

/// Why a string is not a usable phone number.
///
/// ``description`` never repeats the number, so it is safe to log and to store
/// as an import row's reason; ``message(for:)`` puts the number a person typed
/// in front, for API answers ("000-000-0000 is not a valid number in the US").
public enum PhoneNumberError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No digits at all.
    case empty
    /// Letters or symbols such as `#`, `*` or an extension marker.
    case invalidCharacters
    /// A `+` after the first digit, or more than one.
    case misplacedPlusSign
    /// Fewer digits than the country's numbers have (`nil` when the country is unknown).
    case tooShort(country: String?)
    /// More digits than the country's numbers have, or than E.164 allows (`nil`).
    case tooLong(country: String?)
    /// The right length but not a number the country's plan assigns (`nil`: a global service).
    case invalidForCountry(country: String?)
    /// A real number of a kind that cannot receive SMS, such as a toll-free number.
    case notSMSCapable(country: String?, type: PhoneNumberType)
    /// The digits after `+` or `00` start with no assigned calling code.
    case unknownCountryCode(String)
    /// The default country is not an ISO 3166 code with a calling code.
    case unsupportedDefaultCountry(String)

    /// What is wrong, as the end of a sentence whose subject is the number.
    public var reason: String {
        switch self {
        case .empty: "has no digits"
        case .invalidCharacters: "contains letters or symbols that are not part of a phone number"
        case .misplacedPlusSign: "has a + that is not at the start (a + may only appear once, before the first digit)"
        case .tooShort(let country?): "is too short for a number in \(Self.name(of: country))"
        case .tooShort(nil): "is too short for a phone number"
        case .tooLong(let country?): "is too long for a number in \(Self.name(of: country))"
        case .tooLong(nil): "is too long for a phone number"
        case .invalidForCountry(let country?): "is not a valid number in \(Self.name(of: country))"
        case .invalidForCountry(nil): "is not a valid phone number"
        case .notSMSCapable(let country?, let type): "is \(type.phrase) in \(Self.name(of: country)) and cannot receive text messages"
        case .notSMSCapable(nil, let type): "is \(type.phrase) and cannot receive text messages"
        case .unknownCountryCode(let code): "starts with +\(code), which is not a country calling code"
        case .unsupportedDefaultCountry(let country):
            "cannot be read: the default country \(country.isEmpty ? "is empty" : "\(country) is not an ISO 3166 code with a calling code")"
        }
    }

    /// "the number is not a valid number in the US": safe to log.
    public var description: String { "the number \(reason)" }

    /// "000-000-0000 is not a valid number in the US": for the person who typed it.
    public func message(for input: String) -> String {
        let shown = input.trimmingCharacters(in: .whitespacesAndNewlines)
        return shown.isEmpty ? "the phone number is empty" : "\(shown) \(reason)"
    }

    /// "the US", "Australia": a country as a sentence names it, from ISO 3166.
    static func name(of country: String) -> String {
        if let special = shortNames[country] { return special }
        guard let name = Locale(identifier: "en_US").localizedString(forRegionCode: country), name != country else {
            return country
        }
        return countriesWithArticle.contains(country) ? "the \(name)" : name
    }

    private static let shortNames = ["US": "the US", "GB": "the UK", "AE": "the UAE"]
    private static let countriesWithArticle: Set<String> = [
        "BS", "CF", "DO", "FK", "FO", "GM", "KY", "MH", "MV", "NL", "PH", "SB", "TC", "VA", "VG", "VI",
    ]
}
