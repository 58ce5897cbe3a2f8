import CPhoneNumber

/// The one Swift file that calls libphonenumber (through the `CPhoneNumber` shim).
///
/// Everything it returns is a Swift value; no pointer or C struct leaves it. The
/// C++ `PhoneNumberUtil` is a thread-safe singleton whose methods are const, so
/// these functions may be called from any task at once without a lock here.
enum LibPhoneNumber {
    /// What one parse learned about a number.
    struct Parsed: Sendable, Equatable {
        var countryCode: Int
        var possibility: Possibility
        var isValid: Bool
        var type: PhoneNumberType
        var e164: String
        /// ISO 3166 code, or `nil` for global services (+800, +882, …) and for
        /// numbers that are valid in no region.
        var region: String?
    }

    /// `PhoneNumberUtil::ValidationResult`: whether the length can be right.
    enum Possibility: Sendable, Equatable {
        case possible, possibleLocalOnly, invalidCountryCode, tooShort, invalidLength, tooLong
    }

    /// `PhoneNumberUtil::ErrorType`: why the text could not be read as a number at all.
    enum ParseError: Error, Sendable, Equatable {
        case invalidCountryCode, notANumber, tooShortAfterIDD, tooShortNSN, tooLongNSN
    }

    enum Format: Sendable {
        case e164, international, national
    }

    /// Parses `text` as written in `region` (ignored when `text` starts with `+`).
    static func parse(_ text: String, region: String) -> Result<Parsed, ParseError> {
        var text = text
        var out = cpn_number()
        let status = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                cpn_parse(chars.baseAddress, chars.count, region, &out)
            }
        }
        switch status {
        case Int32(CPN_OK.rawValue): return .success(Parsed(out))
        case Int32(CPN_INVALID_COUNTRY_CODE.rawValue): return .failure(.invalidCountryCode)
        case Int32(CPN_TOO_SHORT_AFTER_IDD.rawValue): return .failure(.tooShortAfterIDD)
        case Int32(CPN_TOO_SHORT_NSN.rawValue): return .failure(.tooShortNSN)
        case Int32(CPN_TOO_LONG_NSN.rawValue): return .failure(.tooLongNSN)
        default: return .failure(.notANumber)
        }
    }

    /// The calling code of an ISO 3166 region, `nil` when libphonenumber has no metadata for it.
    static func countryCode(forRegion region: String) -> Int? {
        let code = cpn_country_code_for_region(region)
        return code == 0 ? nil : Int(code)
    }

    /// The main region of a calling code (GB for 44); `nil` for global services and unknown codes.
    static func mainRegion(forCountryCode code: Int) -> String? {
        var out: (CChar, CChar, CChar, CChar) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &out) { bytes in
            cpn_region_for_country_code(Int32(code), bytes.baseAddress!.assumingMemoryBound(to: CChar.self))
        }
        return regionCode(fromCString: out)
    }

    /// `e164` formatted for people; `nil` when it is not an E.164 number.
    static func format(_ e164: String, as format: Format) -> String? {
        let cFormat: cpn_format =
            switch format {
            case .e164: CPN_FORMAT_E164
            case .international: CPN_FORMAT_INTERNATIONAL
            case .national: CPN_FORMAT_NATIONAL
            }
        var buffer = [CChar](repeating: 0, count: 64)
        let written = cpn_format_number(e164, cFormat, &buffer, buffer.count)
        guard written >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(written)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Valid numbers in free text, with the UTF-8 byte range each was found at.
    static func find(in text: String, region: String, limit: Int) -> [(utf8Range: Range<Int>, number: Parsed)] {
        guard limit > 0 else { return [] }
        var text = text
        var matches = [cpn_match](repeating: cpn_match(), count: limit)
        let count = text.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                cpn_find_numbers(chars.baseAddress, chars.count, region, &matches, limit)
            }
        }
        return matches.prefix(count).map { match in
            (Int(match.start)..<Int(match.start + match.length), Parsed(match.number))
        }
    }

    /// How many numbers the shim's lock-free metadata reading was compared on with
    /// libphonenumber's own answer, and how many differed (see `cpn_verify_metadata_reader`).
    static func verifyMetadataReader(variantsPerExample: Int) -> (checked: Int, mismatches: Int) {
        var checked = 0
        let mismatches = cpn_verify_metadata_reader(variantsPerExample, &checked)
        return (checked, mismatches)
    }

    fileprivate static func regionCode(fromCString tuple: (CChar, CChar, CChar, CChar)) -> String? {
        let region = withUnsafeBytes(of: tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        // "001" is libphonenumber's region for global services, "ZZ" its unknown region.
        return region.count == 2 && region != "ZZ" ? region : nil
    }
}

extension LibPhoneNumber.Parsed {
    fileprivate init(_ c: cpn_number) {
        var c = c
        countryCode = Int(c.country_code)
        possibility =
            switch c.possibility {
            case Int32(CPN_IS_POSSIBLE.rawValue): .possible
            case Int32(CPN_IS_POSSIBLE_LOCAL_ONLY.rawValue): .possibleLocalOnly
            case Int32(CPN_POSSIBLE_INVALID_COUNTRY_CODE.rawValue): .invalidCountryCode
            case Int32(CPN_TOO_SHORT.rawValue): .tooShort
            case Int32(CPN_TOO_LONG.rawValue): .tooLong
            default: .invalidLength
            }
        isValid = c.valid != 0
        type = PhoneNumberType(libphonenumberType: c.type)
        e164 = withUnsafeBytes(of: &c.e164) { bytes in String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self) }
        region = LibPhoneNumber.regionCode(fromCString: c.region)
    }
}

extension PhoneNumberType {
    fileprivate init(libphonenumberType type: Int32) {
        self =
            switch type {
            case Int32(CPN_FIXED_LINE.rawValue): .fixedLine
            case Int32(CPN_MOBILE.rawValue): .mobile
            case Int32(CPN_FIXED_LINE_OR_MOBILE.rawValue): .fixedLineOrMobile
            case Int32(CPN_TOLL_FREE.rawValue): .tollFree
            case Int32(CPN_PREMIUM_RATE.rawValue): .premiumRate
            case Int32(CPN_SHARED_COST.rawValue): .sharedCost
            case Int32(CPN_VOIP.rawValue): .voip
            case Int32(CPN_PERSONAL_NUMBER.rawValue): .personal
            case Int32(CPN_PAGER.rawValue): .pager
            case Int32(CPN_UAN.rawValue): .uan
            case Int32(CPN_VOICEMAIL.rawValue): .voicemail
            default: .unknown
            }
    }
}
