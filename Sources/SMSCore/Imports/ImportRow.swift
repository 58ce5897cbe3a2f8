/// A data row that passed every check, ready to upsert. Text fields are byte
/// ranges of the file, so a million rows cost no per-field allocations.
struct StagedContact {
    struct AttributeValue {
        var attribute: Int  // index into ImportColumnMap.attributes
        var value: CSVField
    }

    var rowNumber: Int
    var phone: String
    var numberType: PhoneNumberType
    var phoneKey: UInt64
    var firstName: CSVField?
    var lastName: CSVField?
    var email: CSVField?
    var timezone: String?
    var consent: Bool
    var attributes: [AttributeValue]
    var lists: [String]
    /// The phone appeared in an accepted row of an earlier chunk: upsert it but don't count it again.
    var duplicate = false

    /// Applies a later row with the same phone: its non-empty fields win.
    mutating func merge(_ later: StagedContact) {
        firstName = later.firstName ?? firstName
        lastName = later.lastName ?? lastName
        email = later.email ?? email
        timezone = later.timezone ?? timezone
        consent = consent || later.consent
        attributes += later.attributes  // written in order; jsonb keeps the last value of a repeated key
        lists += later.lists
    }
}

/// What one data record means.
enum ImportRowOutcome {
    case blank
    case rejected(String)
    case accepted(StagedContact)
}

/// Checks one record against the column map. Pure apart from a cache of time
/// zone look-ups, so reading the same record twice (when an interrupted import
/// resumes) gives the same answer.
struct ImportRowReader {
    let map: ImportColumnMap
    private let phoneColumn: Int
    private let firstNameColumn: Int?
    private let lastNameColumn: Int?
    private let emailColumn: Int?
    private let timezoneColumn: Int?
    private let consentColumn: Int?
    private let listsColumn: Int?
    private var zones: [String: String?] = [:]
    /// The hint for each refused zone name: finding the closest name compares it with all ~600.
    private var zoneHints: [String: String] = [:]

    static let maxNameLength = 100
    static let maxEmailLength = 254
    static let maxListNameLength = 100
    static let maxAttributesBytes = 16_384

    init(map: ImportColumnMap) {
        self.map = map
        phoneColumn = map.index(of: .phone) ?? 0
        firstNameColumn = map.index(of: .firstName)
        lastNameColumn = map.index(of: .lastName)
        emailColumn = map.index(of: .email)
        timezoneColumn = map.index(of: .timezone)
        consentColumn = map.index(of: .consent)
        listsColumn = map.index(of: .lists)
    }

    mutating func read(_ fields: [CSVField], bounds: CSVRecordBounds, rowNumber: Int, reader: CSVReader) -> ImportRowOutcome {
        if ImportFileCheck.isBlank(fields, reader) { return .blank }
        // Extra fields are refused unless they are empty (trailing commas that spreadsheets add).
        if fields.count > map.columnCount, fields[map.columnCount...].contains(where: { !reader.trimmed($0).isEmpty }) {
            return .rejected("the row has \(fields.count) fields but the header has \(map.columnCount); quote fields that contain commas")
        }
        if let index = bounds.malformedField {
            return .rejected("field \(index + 1) has text after its closing quote; double any quotes inside a quoted field")
        }
        func field(_ column: Int?) -> CSVField? {
            guard let column, column < fields.count else { return nil }
            let value = reader.trimmed(fields[column])
            return value.isEmpty ? nil : value
        }

        guard let rawPhone = field(phoneColumn) else { return .rejected("phone is empty") }
        let phone: String
        let numberType: PhoneNumberType
        do {
            let number = try PhoneNumber.parse(reader.string(rawPhone), defaultCountry: map.defaultCountry)
            phone = number.e164
            numberType = number.type
        } catch {
            return .rejected("phone \(error.reason)")
        }

        let firstName = field(firstNameColumn)
        if let firstName, let problem = Self.tooLong(firstName, max: Self.maxNameLength, reader) {
            return .rejected("first_name \(problem)")
        }
        let lastName = field(lastNameColumn)
        if let lastName, let problem = Self.tooLong(lastName, max: Self.maxNameLength, reader) {
            return .rejected("last_name \(problem)")
        }
        let email = field(emailColumn)
        if let email, !Self.isEmailAddress(email, reader) { return .rejected("invalid email address") }

        var timezone: String?
        if let raw = field(timezoneColumn) {
            let text = reader.string(raw)
            let valid: String?
            if let cached = zones[text] {
                valid = cached
            } else {
                valid = RecipientTimeZone.validatedIdentifier(text)
                zones[text] = valid
            }
            guard let valid else {
                let shown = String(text.prefix(64))
                let hint = zoneHints[shown] ?? RecipientTimeZone.hint(for: shown)
                zoneHints[shown] = hint
                return .rejected("invalid timezone \(quoted(shown)): \(hint)")
            }
            timezone = valid
        }

        var consent = false
        if let raw = field(consentColumn) {
            switch reader.string(raw).lowercased() {
            case "yes", "y", "true", "1": consent = true
            case "no", "n", "false", "0": consent = false
            default: return .rejected("consent must be yes or no (also y/n, true/false, 1/0)")
            }
        }

        var lists: [String] = []
        if let raw = field(listsColumn) {
            for part in reader.string(raw).split(whereSeparator: { $0 == ";" || $0 == "|" }) {
                let name = part.trimmingCharacters(in: .whitespacesAndNewlines)
                if name.isEmpty || lists.contains(name) { continue }
                guard name.unicodeScalars.count <= Self.maxListNameLength else {
                    return .rejected("a list name is longer than \(Self.maxListNameLength) characters")
                }
                lists.append(name)
            }
        }

        var attributes: [StagedContact.AttributeValue] = []
        var attributeBytes = 0
        for (i, attribute) in map.attributes.enumerated() {
            guard let value = field(attribute.index) else { continue }
            attributeBytes += value.count + attribute.name.utf8.count + 6
            attributes.append(.init(attribute: i, value: value))
        }
        if attributeBytes > Self.maxAttributesBytes {
            return .rejected("custom attributes are larger than \(Self.maxAttributesBytes / 1024) KB")
        }

        return .accepted(
            StagedContact(
                rowNumber: rowNumber, phone: phone, numberType: numberType, phoneKey: Self.key(ofE164: phone), firstName: firstName, lastName: lastName,
                email: email, timezone: timezone, consent: consent, attributes: attributes, lists: lists))
    }

    /// "is longer than N characters", or nil when it fits.
    private static func tooLong(_ field: CSVField, max: Int, _ reader: CSVReader) -> String? {
        guard field.count > max else { return nil }  // bytes ≥ characters
        return reader.string(field).unicodeScalars.count > max ? "is longer than \(max) characters" : nil
    }

    /// A practical check, not RFC 5322: one @, something before it, a dotted
    /// domain after it, no spaces, quotes or control characters.
    static func isEmailAddress(_ field: CSVField, _ reader: CSVReader) -> Bool {
        guard field.count <= maxEmailLength, !field.hasDoubledQuotes else { return false }
        var at: Int?
        for i in field.start..<field.end {
            let b = reader[i]
            if b <= 32 || b == UInt8(ascii: "\"") || b == UInt8(ascii: ",") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") {
                return false
            }
            if b == UInt8(ascii: "@") {
                if at != nil { return false }
                at = i
            }
        }
        guard let at, at > field.start, at + 1 < field.end else { return false }
        var sawDot = false
        var previous = UInt8(ascii: "@")
        for i in (at + 1)..<field.end {
            let b = reader[i]
            if b == UInt8(ascii: ".") {
                if previous == UInt8(ascii: ".") || previous == UInt8(ascii: "@") { return false }
                sawDot = true
            }
            previous = b
        }
        return sawDot && previous != UInt8(ascii: ".")
    }

    /// The digits of an E.164 number as an integer (at most 15 digits and no
    /// leading zero, so distinct numbers give distinct keys).
    static func key(ofE164 e164: String) -> UInt64 {
        var key: UInt64 = 0
        for b in e164.utf8 where b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") { key = key &* 10 &+ UInt64(b - UInt8(ascii: "0")) }
        return key
    }
}
