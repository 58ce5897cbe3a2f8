import Foundation

/// A phone number that has been checked and normalised to E.164, the only form
/// the rest of the system stores, compares, dedupes or sends to.
///
/// Build one with ``parse(_:defaultCountry:)`` from whatever a person typed or
/// a CSV held, or with ``init(e164:)`` when reading back a value that was
/// parsed before. Two numbers are equal when their E.164 strings are.
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number in E.164 form, e.g. `+61412345678`.
    public let e164: String
    /// The ISO 3166 country the number belongs to, e.g. `AU`; `nil` for global
    /// services such as +800 or +882 that belong to no country.
    ///
    /// For calling codes shared by several countries this is worked out from
    /// the number where that is cheap and reliable (NANP area codes, +7
    /// Russia/Kazakhstan, +262 Réunion/Mayotte); otherwise it is the main
    /// country of the code (+44 is GB even for Jersey).
    public let country: String?
    /// The country calling code without the `+`, e.g. `61`.
    public let callingCode: String

    /// The digits after the calling code: what the country's own numbering
    /// plan calls the national significant number, e.g. `412345678`.
    public var nationalSignificantNumber: String {
        String(e164.dropFirst(1 + callingCode.count))
    }

    public var description: String { e164 }

    init(callingCode: String, nationalSignificantNumber: String) {
        self.callingCode = callingCode
        self.e164 = "+" + callingCode + nationalSignificantNumber
        self.country = CallingCodes.country(callingCode: callingCode, nationalSignificantNumber: nationalSignificantNumber)
    }

    /// Rebuilds a number that was stored in E.164 form.
    ///
    /// Only the E.164 shape and the calling code are checked; the national
    /// rules of ``parse(_:defaultCountry:)`` are not applied again, so a number
    /// accepted under older rules still loads.
    /// - Returns: `nil` when `e164` is not E.164 or its calling code is not assigned.
    public init?(e164: String) {
        guard Self.isValidE164(e164) else { return nil }
        let digits = String(e164.dropFirst())
        guard let code = CallingCodes.code(prefixing: digits) else { return nil }
        self.init(callingCode: code, nationalSignificantNumber: String(digits.dropFirst(code.count)))
    }

    public static func == (lhs: PhoneNumber, rhs: PhoneNumber) -> Bool { lhs.e164 == rhs.e164 }
    public func hash(into hasher: inout Hasher) { hasher.combine(e164) }

    /// Whether `s` is shaped like E.164: `+`, a non-zero digit, then 6 to 14
    /// more digits. The same rule as the database's CHECK constraint on
    /// `phone_e164` columns (`^\+[1-9][0-9]{6,14}$`).
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
    /// such as "x123") is refused rather than guessed at.
    ///
    /// A leading `+` or `00` (also `0011` for an AU default and `011` for a
    /// North American one) marks international form: the calling code is
    /// looked up and the country's rules, where this type has them, are
    /// applied. Anything else is national form for `defaultCountry`: its trunk
    /// prefix is dropped (`0`, or `1` in North America), and digits that
    /// already start with the country's calling code are taken as such when
    /// the rest is a valid national number ("61412345678" for AU).
    ///
    /// Countries with their own rules: AU, GB, NZ, IE, DE, FR, IN, SG, ZA and
    /// the North American Numbering Plan (US, CA and the Caribbean). Any other
    /// country with a calling code gets length checks only (8 to 15 digits in
    /// all), and its national form drops one leading `0`.
    ///
    /// - Parameters:
    ///   - input: the number as typed.
    ///   - defaultCountry: ISO 3166 alpha-2 code (case-insensitive) used for
    ///     national-form input; checked even when `input` is international, so
    ///     a misconfigured tenant is noticed on the first number.
    /// - Throws: ``PhoneNumberError`` saying why the number is impossible.
    public static func parse(_ input: String, defaultCountry: String) throws(PhoneNumberError) -> PhoneNumber {
        let defaultISO = defaultCountry.trimmingCharacters(in: .whitespaces).uppercased()
        guard let defaultCode = CallingCodes.codeByCountry[defaultISO] else {
            throw .unsupportedDefaultCountry(defaultCountry)
        }

        let (digits, international) = try scan(input)
        guard !digits.isEmpty else { throw .empty }

        if international {
            return try parseInternational(digits)
        }
        // International dialling prefixes. "00" never starts a national number
        // anywhere we serve, so it is taken as international for every default.
        if defaultCode == "61", digits.hasPrefix("0011") {
            return try parseInternational(String(digits.dropFirst(4)))
        }
        if defaultCode == "1", digits.hasPrefix("011") {
            return try parseInternational(String(digits.dropFirst(3)))
        }
        if digits.hasPrefix("00") {
            return try parseInternational(String(digits.dropFirst(2)))
        }
        return try parseNational(digits, country: defaultISO, callingCode: defaultCode)
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

    /// `digits` starts with the calling code.
    private static func parseInternational(_ digits: String) throws(PhoneNumberError) -> PhoneNumber {
        guard !digits.isEmpty else { throw .tooShort(country: nil) }
        guard let code = CallingCodes.code(prefixing: digits) else {
            throw .unknownCountryCode(String(digits.prefix(3)))
        }
        let label = CallingCodes.mainCountryByCode[code]
        var national = String(digits.dropFirst(code.count))
        if let plan = NationalNumberingPlan(callingCode: code) {
            // "+44 (0)7700 900123" is a common way to show both forms at once;
            // none of these plans has national numbers that start with 0.
            if plan.trunkPrefix == "0", national.hasPrefix("0") {
                national.removeFirst()
            }
            if let problem = plan.problem(with: national, country: label ?? code) { throw problem }
        }
        return try checkedLength(callingCode: code, national: national, country: label)
    }

    private static func parseNational(_ digits: String, country: String, callingCode: String) throws(PhoneNumberError) -> PhoneNumber {
        guard let plan = NationalNumberingPlan(callingCode: callingCode) else {
            // Countries where the leading 0 is part of the number, not a trunk
            // prefix: Italy (and San Marino and the Vatican, which share its
            // plan) and Côte d'Ivoire since its 2021 move to 10 digits.
            let keepsLeadingZero: Set<String> = ["IT", "SM", "VA", "CI"]
            let national = digits.hasPrefix("0") && !keepsLeadingZero.contains(country) ? String(digits.dropFirst()) : digits
            return try checkedLength(callingCode: callingCode, national: national, country: country)
        }
        let national = plan.nationalSignificantNumber(fromNational: digits, callingCode: callingCode)
        if let problem = plan.problem(with: national, country: country) { throw problem }
        return try checkedLength(callingCode: callingCode, national: national, country: country)
    }

    /// The length rule for every number: 8 to 15 digits including the calling
    /// code (E.164 allows at most 15).
    private static func checkedLength(callingCode: String, national: String, country: String?) throws(PhoneNumberError) -> PhoneNumber {
        let total = callingCode.count + national.count
        if total < 8 || national.isEmpty { throw .tooShort(country: country) }
        if total > 15 { throw .tooLong(country: nil) }
        return PhoneNumber(callingCode: callingCode, nationalSignificantNumber: national)
    }
}

/// Why a string is not a usable phone number. The ``description`` is written
/// to be returned as API error text; it never repeats the number itself, so it
/// is also safe to log.
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
    /// The right length but not a number the country's plan assigns.
    case invalidForCountry(country: String, reason: String)
    /// A real number of a kind that cannot receive SMS, such as AU 1300 or GB 0800 numbers.
    case notSMSCapable(country: String, reason: String)
    /// The digits after `+` or `00` start with no assigned calling code.
    case unknownCountryCode(String)
    /// The default country is not an ISO 3166 code with a calling code.
    case unsupportedDefaultCountry(String)

    public var description: String {
        switch self {
        case .empty: "empty"
        case .invalidCharacters: "contains letters or symbols that are not part of a phone number"
        case .misplacedPlusSign: "a + may only appear once, at the start of the number"
        case .tooShort(let country?): "too short for \(country)"
        case .tooShort(nil): "too short"
        case .tooLong(let country?): "too long for \(country)"
        case .tooLong(nil): "too long"
        case .invalidForCountry(let country, let reason): "not a valid number in \(country): \(reason)"
        case .notSMSCapable(let country, let reason): "cannot receive SMS in \(country): \(reason)"
        case .unknownCountryCode(let code): "unknown country code +\(code)"
        case .unsupportedDefaultCountry(let country): "unsupported default country \(country)"
        }
    }
}

// MARK: - National numbering plans

/// The rules this module knows for particular calling codes. They refuse
/// numbers that cannot exist or cannot take SMS; they do not try to know every
/// allocated range, since a false refusal loses a real contact.
enum NationalNumberingPlan: Sendable {
    case northAmerica, australia, unitedKingdom, newZealand, ireland, germany, france, india, singapore, southAfrica

    init?(callingCode: String) {
        switch callingCode {
        case "1": self = .northAmerica
        case "61": self = .australia
        case "44": self = .unitedKingdom
        case "64": self = .newZealand
        case "353": self = .ireland
        case "49": self = .germany
        case "33": self = .france
        case "91": self = .india
        case "65": self = .singapore
        case "27": self = .southAfrica
        default: return nil
        }
    }

    /// What national dialling puts in front of the national significant number.
    var trunkPrefix: String? {
        switch self {
        case .northAmerica: "1"
        case .singapore: nil
        default: "0"
        }
    }

    /// Turns national-form digits into the national significant number.
    func nationalSignificantNumber(fromNational digits: String, callingCode: String) -> String {
        if self == .northAmerica {
            // The trunk prefix and the calling code are both "1": strip it only
            // when there is a digit to spare, so "115 555 2671" is reported as
            // a bad area code rather than as too short.
            return digits.count > 10 && digits.hasPrefix("1") ? String(digits.dropFirst()) : digits
        }
        if let trunkPrefix, digits.hasPrefix(trunkPrefix) {
            return String(digits.dropFirst(trunkPrefix.count))
        }
        // Without the trunk prefix the digits are either already international
        // without the "+" ("61412345678", typical of exports) or national with
        // the leading 0 lost (typical of spreadsheets). The calling code wins
        // only when what follows it is a valid number.
        if digits.hasPrefix(callingCode) {
            let rest = String(digits.dropFirst(callingCode.count))
            if problem(with: rest, country: "") == nil { return rest }
        }
        return digits
    }

    /// Why `national` (the national significant number) cannot be a number
    /// in this plan that takes SMS, or `nil` when it can.
    func problem(with national: String, country: String) -> PhoneNumberError? {
        let digits = Array(national.utf8).map { Int($0) - Int(UInt8(ascii: "0")) }
        guard let first = digits.first else { return .tooShort(country: country) }
        let second = digits.count > 1 ? digits[1] : nil

        func length(_ allowed: ClosedRange<Int>) -> PhoneNumberError? {
            if digits.count < allowed.lowerBound { return .tooShort(country: country) }
            if digits.count > allowed.upperBound { return .tooLong(country: country) }
            return nil
        }
        func invalid(_ reason: String) -> PhoneNumberError { .invalidForCountry(country: country, reason: reason) }
        func noSMS(_ reason: String) -> PhoneNumberError { .notSMSCapable(country: country, reason: reason) }
        let noSecondZero = "no number starts with 0 after the trunk prefix 0"

        switch self {
        case .northAmerica:
            if let problem = length(10...10) { return problem }
            if first <= 1 { return invalid("area codes cannot start with 0 or 1") }
            if digits[1] == 1, digits[2] == 1 { return invalid("211, 311 … 911 are service codes, not area codes") }
            if digits[3] <= 1 { return invalid("exchange codes (the three digits after the area code) cannot start with 0 or 1") }
            return nil

        case .australia:
            switch first {
            case 1: return noSMS("numbers starting with 1 (13, 1300, 1800, 19) are service numbers")
            case 2, 3, 4, 7, 8: return length(9...9)
            default: return invalid("mobile numbers start with 04 and landlines with 02, 03, 07 or 08")
            }

        case .unitedKingdom:
            switch first {
            case 7: return length(10...10)
            case 1: return length(9...10)
            case 2, 3: return length(10...10)
            case 5, 8, 9: return noSMS("numbers starting with 05, 08 or 09 are freephone, shared-cost or premium-rate services")
            case 0: return invalid(noSecondZero)
            default: return invalid("mobile numbers start with 07 and landlines with 01, 02 or 03")
            }

        case .newZealand:
            switch first {
            case 2: return length(8...10)
            case 9 where national.hasPrefix("900"):
                return noSMS("0900 numbers are premium-rate services")
            case 3, 4, 6, 7, 9: return length(8...8)
            case 5, 8: return noSMS("numbers starting with 05 or 08 are freephone or service numbers")
            case 0: return invalid(noSecondZero)
            default: return invalid("mobile numbers start with 02 and landlines with 03, 04, 06, 07 or 09")
            }

        case .ireland:
            if first == 0 { return invalid(noSecondZero) }
            // Freephone and shared-cost numbers are dialled without the 0
            // (1800 …, 1850 …); a Dublin number 01 5… is two digits shorter.
            if first == 1, digits.count >= 10, second == 8 || second == 5 {
                return noSMS("1800, 1850, 1890 and 15xx numbers are freephone, shared-cost or premium-rate services")
            }
            if first == 8 { return length(9...9) }
            return length(7...9)

        case .germany:
            if first == 0 { return invalid(noSecondZero) }
            if first == 1 {
                guard let second, (5...7).contains(second) else {
                    return noSMS("01 numbers other than the 015, 016 and 017 mobile ranges are service numbers")
                }
                return length(10...11)
            }
            if national.hasPrefix("700") || national.hasPrefix("800") || national.hasPrefix("900") {
                return noSMS("0700, 0800 and 0900 numbers are personal, freephone or premium-rate services")
            }
            return length(6...11)

        case .france:
            switch first {
            case 0: return invalid(noSecondZero)
            case 8: return noSMS("08 numbers are freephone, shared-cost or premium-rate services")
            default: return length(9...9)
            }

        case .india:
            if first == 0 { return invalid(noSecondZero) }
            if national.hasPrefix("1800") || national.hasPrefix("1860") {
                return noSMS("1800 and 1860 numbers are toll-free or shared-cost services")
            }
            return length(10...10)

        case .singapore:
            if first == 1 || (national.hasPrefix("800") && digits.count == 10) {
                return noSMS("1800 and 800 numbers are toll-free services")
            }
            guard [3, 6, 8, 9].contains(first) else {
                return invalid("mobile numbers start with 8 or 9 and landlines with 6")
            }
            return length(8...8)

        case .southAfrica:
            if first == 0 { return invalid(noSecondZero) }
            if first == 8, second == 0 || second == 6 {
                return noSMS("080 and 086 numbers are toll-free or shared-cost services")
            }
            return length(9...9)
        }
    }
}

// MARK: - Calling codes

/// ITU-T E.164 country calling codes and the ISO 3166 countries they serve.
enum CallingCodes {
    /// Every assigned code in use, with the countries behind it, main country
    /// first. Codes are prefix-free (no code starts another), which is what
    /// lets ``code(prefixing:)`` read the first one that matches.
    static let assignments: [(code: String, countries: [String])] = [
        // Zone 1: the North American Numbering Plan.
        ("1", [
            "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY", "LC", "MP", "MS",
            "PR", "SX", "TC", "TT", "VC", "VG", "VI",
        ]),
        // Zone 7: Russia and Kazakhstan.
        ("7", ["RU", "KZ"]),
        // Zone 2: mostly Africa.
        ("20", ["EG"]), ("27", ["ZA"]),
        ("211", ["SS"]), ("212", ["MA", "EH"]), ("213", ["DZ"]), ("216", ["TN"]), ("218", ["LY"]),
        ("220", ["GM"]), ("221", ["SN"]), ("222", ["MR"]), ("223", ["ML"]), ("224", ["GN"]), ("225", ["CI"]),
        ("226", ["BF"]), ("227", ["NE"]), ("228", ["TG"]), ("229", ["BJ"]), ("230", ["MU"]), ("231", ["LR"]),
        ("232", ["SL"]), ("233", ["GH"]), ("234", ["NG"]), ("235", ["TD"]), ("236", ["CF"]), ("237", ["CM"]),
        ("238", ["CV"]), ("239", ["ST"]), ("240", ["GQ"]), ("241", ["GA"]), ("242", ["CG"]), ("243", ["CD"]),
        ("244", ["AO"]), ("245", ["GW"]), ("246", ["IO"]), ("247", ["AC"]), ("248", ["SC"]), ("249", ["SD"]),
        ("250", ["RW"]), ("251", ["ET"]), ("252", ["SO"]), ("253", ["DJ"]), ("254", ["KE"]), ("255", ["TZ"]),
        ("256", ["UG"]), ("257", ["BI"]), ("258", ["MZ"]), ("260", ["ZM"]), ("261", ["MG"]), ("262", ["RE", "YT"]),
        ("263", ["ZW"]), ("264", ["NA"]), ("265", ["MW"]), ("266", ["LS"]), ("267", ["BW"]), ("268", ["SZ"]),
        ("269", ["KM"]), ("290", ["SH", "TA"]), ("291", ["ER"]), ("297", ["AW"]), ("298", ["FO"]), ("299", ["GL"]),
        // Zones 3 and 4: Europe.
        ("30", ["GR"]), ("31", ["NL"]), ("32", ["BE"]), ("33", ["FR"]), ("34", ["ES"]), ("36", ["HU"]),
        ("39", ["IT", "VA"]), ("40", ["RO"]), ("41", ["CH"]), ("43", ["AT"]), ("44", ["GB", "GG", "IM", "JE"]),
        ("45", ["DK"]), ("46", ["SE"]), ("47", ["NO", "SJ"]), ("48", ["PL"]), ("49", ["DE"]),
        ("350", ["GI"]), ("351", ["PT"]), ("352", ["LU"]), ("353", ["IE"]), ("354", ["IS"]), ("355", ["AL"]),
        ("356", ["MT"]), ("357", ["CY"]), ("358", ["FI", "AX"]), ("359", ["BG"]), ("370", ["LT"]), ("371", ["LV"]),
        ("372", ["EE"]), ("373", ["MD"]), ("374", ["AM"]), ("375", ["BY"]), ("376", ["AD"]), ("377", ["MC"]),
        ("378", ["SM"]), ("380", ["UA"]), ("381", ["RS"]), ("382", ["ME"]), ("383", ["XK"]), ("385", ["HR"]),
        ("386", ["SI"]), ("387", ["BA"]), ("389", ["MK"]), ("420", ["CZ"]), ("421", ["SK"]), ("423", ["LI"]),
        // Zone 5: Central and South America.
        ("51", ["PE"]), ("52", ["MX"]), ("53", ["CU"]), ("54", ["AR"]), ("55", ["BR"]), ("56", ["CL"]),
        ("57", ["CO"]), ("58", ["VE"]),
        ("500", ["FK", "GS"]), ("501", ["BZ"]), ("502", ["GT"]), ("503", ["SV"]), ("504", ["HN"]), ("505", ["NI"]),
        ("506", ["CR"]), ("507", ["PA"]), ("508", ["PM"]), ("509", ["HT"]), ("590", ["GP", "BL", "MF"]),
        ("591", ["BO"]), ("592", ["GY"]), ("593", ["EC"]), ("594", ["GF"]), ("595", ["PY"]), ("596", ["MQ"]),
        ("597", ["SR"]), ("598", ["UY"]), ("599", ["CW", "BQ"]),
        // Zone 6: South-East Asia and Oceania.
        ("60", ["MY"]), ("61", ["AU", "CC", "CX"]), ("62", ["ID"]), ("63", ["PH"]), ("64", ["NZ"]), ("65", ["SG"]),
        ("66", ["TH"]),
        ("670", ["TL"]), ("672", ["NF", "AQ"]), ("673", ["BN"]), ("674", ["NR"]), ("675", ["PG"]), ("676", ["TO"]),
        ("677", ["SB"]), ("678", ["VU"]), ("679", ["FJ"]), ("680", ["PW"]), ("681", ["WF"]), ("682", ["CK"]),
        ("683", ["NU"]), ("685", ["WS"]), ("686", ["KI"]), ("687", ["NC"]), ("688", ["TV"]), ("689", ["PF"]),
        ("690", ["TK"]), ("691", ["FM"]), ("692", ["MH"]),
        // Zone 8: East Asia, plus global services that belong to no country.
        ("81", ["JP"]), ("82", ["KR"]), ("84", ["VN"]), ("86", ["CN"]),
        ("850", ["KP"]), ("852", ["HK"]), ("853", ["MO"]), ("855", ["KH"]), ("856", ["LA"]), ("880", ["BD"]),
        ("886", ["TW"]),
        ("800", []), ("808", []), ("870", []), ("881", []), ("882", []), ("883", []), ("888", []),
        // Zone 9: West, Central and South Asia.
        ("90", ["TR"]), ("91", ["IN"]), ("92", ["PK"]), ("93", ["AF"]), ("94", ["LK"]), ("95", ["MM"]), ("98", ["IR"]),
        ("960", ["MV"]), ("961", ["LB"]), ("962", ["JO"]), ("963", ["SY"]), ("964", ["IQ"]), ("965", ["KW"]),
        ("966", ["SA"]), ("967", ["YE"]), ("968", ["OM"]), ("970", ["PS"]), ("971", ["AE"]), ("972", ["IL"]),
        ("973", ["BH"]), ("974", ["QA"]), ("975", ["BT"]), ("976", ["MN"]), ("977", ["NP"]), ("979", []),
        ("992", ["TJ"]), ("993", ["TM"]), ("994", ["AZ"]), ("995", ["GE"]), ("996", ["KG"]), ("998", ["UZ"]),
    ]

    static let codes: Set<String> = Set(assignments.map(\.code))

    static let codeByCountry: [String: String] = Dictionary(
        assignments.flatMap { assignment in assignment.countries.map { ($0, assignment.code) } },
        uniquingKeysWith: { first, _ in first }
    )

    static let mainCountryByCode: [String: String] = Dictionary(
        uniqueKeysWithValues: assignments.compactMap { assignment in assignment.countries.first.map { (assignment.code, $0) } }
    )

    /// The calling code at the start of `digits`, if one is assigned.
    static func code(prefixing digits: String) -> String? {
        for length in 1...3 where digits.count >= length {
            let candidate = String(digits.prefix(length))
            if codes.contains(candidate) { return candidate }
        }
        return nil
    }

    /// The country a number belongs to, refined from the number itself where
    /// a calling code is shared and the split is simple.
    static func country(callingCode: String, nationalSignificantNumber national: String) -> String? {
        switch callingCode {
        case "1":
            return NorthAmerica.countryByAreaCode[String(national.prefix(3))] ?? "US"
        case "7":
            // Kazakhstan's numbers are the +7 6xx and 7xx ranges.
            return national.hasPrefix("6") || national.hasPrefix("7") ? "KZ" : "RU"
        case "61":
            // The Indian Ocean territories have ranges inside WA's 08 9.
            if national.hasPrefix("89162") { return "CC" }
            if national.hasPrefix("89164") { return "CX" }
            return "AU"
        case "262":
            return national.hasPrefix("269") || national.hasPrefix("639") ? "YT" : "RE"
        default:
            return mainCountryByCode[callingCode]
        }
    }
}

/// NANP area codes that are not in the United States. Anything else under +1
/// (including toll-free 8XX codes) is reported as US.
enum NorthAmerica {
    static let areaCodesByCountry: [(country: String, areaCodes: String)] = [
        (
            "CA",
            """
            204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 403 416 418 428 431 437 438 450 468 474 \
            506 514 519 548 579 581 584 587 600 604 613 639 647 672 683 705 709 742 753 778 780 782 807 819 825 \
            867 873 879 902 905 942
            """
        ),
        ("AG", "268"), ("AI", "264"), ("AS", "684"), ("BB", "246"), ("BM", "441"), ("BS", "242"), ("DM", "767"),
        ("DO", "809 829 849"), ("GD", "473"), ("GU", "671"), ("JM", "658 876"), ("KN", "869"), ("KY", "345"),
        ("LC", "758"), ("MP", "670"), ("MS", "664"), ("PR", "787 939"), ("SX", "721"), ("TC", "649"), ("TT", "868"),
        ("VC", "784"), ("VG", "284"), ("VI", "340"),
    ]

    static let countryByAreaCode: [String: String] = Dictionary(
        areaCodesByCountry.flatMap { entry in entry.areaCodes.split(separator: " ").map { (String($0), entry.country) } },
        uniquingKeysWith: { first, _ in first }
    )
}
