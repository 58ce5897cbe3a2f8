import Foundation

/// A contact field a CSV column can fill.
public enum ImportField: String, Sendable, Codable, CaseIterable {
    case phone
    case firstName = "first_name"
    case lastName = "last_name"
    case email, timezone, consent, lists

    /// Header spellings that mean this field, after ``ImportColumnMap/normalisedHeader(_:)``.
    static let aliases: [String: ImportField] = {
        let table: [ImportField: [String]] = [
            .phone: [
                "phone", "phone number", "phonenumber", "phone no", "mobile", "mobile number", "mobile phone", "mobilephone",
                "mobile no", "cell", "cell phone", "cellphone", "cell number", "msisdn", "telephone", "tel", "sms number", "e164",
                "phone e164",
            ],
            .firstName: ["first name", "firstname", "first", "given name", "givenname", "forename", "fname"],
            .lastName: ["last name", "lastname", "last", "surname", "family name", "familyname", "lname"],
            .email: ["email", "e mail", "email address", "e mail address", "emailaddress"],
            .timezone: ["timezone", "time zone", "tz", "iana timezone"],
            .consent: ["consent", "sms consent", "opt in", "optin", "opted in", "consented"],
            .lists: ["lists", "list", "list names", "list name"],
        ]
        var aliases: [String: ImportField] = [:]
        for (field, names) in table { for name in names { aliases[name] = field } }
        return aliases
    }()
}

/// How the header row of an import maps columns to contact fields; fixed when
/// processing starts and stored in `import_batches.column_map`, so a resumed
/// import reads the rest of the file exactly as it read the beginning.
public struct ImportColumnMap: Sendable, Codable, Equatable {
    /// A column that becomes a custom attribute.
    public struct Attribute: Sendable, Codable, Equatable {
        public var index: Int
        public var name: String
    }

    /// Column index of each mapped field.
    public var fields: [String: Int]
    public var attributes: [Attribute]
    /// Columns in the header row.
    public var columnCount: Int
    /// Offset of the first data record (after the header and any byte-order mark).
    public var dataOffset: Int
    /// The tenant's default country when the import started, for national-format numbers.
    public var defaultCountry: String

    public func index(of field: ImportField) -> Int? { fields[field.rawValue] }

    /// Lowercase, spaces trimmed, `_`, `-` and `.` read as spaces, runs of spaces as one.
    static func normalisedHeader(_ header: String) -> String {
        var out = ""
        var pendingSpace = false
        for ch in header.lowercased() {
            if ch == " " || ch == "_" || ch == "-" || ch == "." || ch == "\t" {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(" ") }
            pendingSpace = false
            out.append(ch)
        }
        return out
    }

    /// Maps a header row; the error message is the import's `error` text.
    static func make(headers: [String], dataOffset: Int, defaultCountry: String) -> Result<ImportColumnMap, ImportFileError> {
        var fields: [String: Int] = [:]
        var attributes: [Attribute] = []
        var attributeNames: [String: String] = [:]  // lowercased name -> header, to catch repeats
        for (index, raw) in headers.enumerated() {
            let header = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if header.isEmpty { continue }  // an unnamed column is ignored
            if let field = ImportField.aliases[normalisedHeader(header)] {
                if let other = fields[field.rawValue] {
                    return .failure(
                        .init("columns \(quoted(headers[other])) and \(quoted(header)) both map to \(field.rawValue); keep one of them"))
                }
                fields[field.rawValue] = index
                continue
            }
            var name = header
            for prefix in ["attributes.", "attribute."] where name.lowercased().hasPrefix(prefix) && name.count > prefix.count {
                name = String(name.dropFirst(prefix.count))
            }
            guard name.count <= 100 else {
                return .failure(.init("the header \(quoted(String(header.prefix(40)) + "…")) is longer than 100 characters"))
            }
            if let other = attributeNames[name.lowercased()] {
                return .failure(.init("columns \(quoted(other)) and \(quoted(header)) name the same attribute; rename one of them"))
            }
            attributeNames[name.lowercased()] = header
            attributes.append(Attribute(index: index, name: name))
        }
        guard fields[ImportField.phone.rawValue] != nil else {
            if headers.contains(where: { (try? PhoneNumber.parse($0, defaultCountry: defaultCountry)) != nil }) {
                return .failure(
                    .init(
                        "no phone column: the first row looks like data, not a header (it holds a phone number); "
                            + "add a header row that names the columns, e.g. phone,first_name,last_name"))
            }
            let found = headers.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
            let list = found.isEmpty ? "no column names" : found.prefix(20).map(quoted).joined(separator: ", ") + (found.count > 20 ? ", …" : "")
            return .failure(
                .init(
                    "no phone column: the header row has \(list); name the column of phone numbers \"phone\" "
                        + "(\"mobile\", \"phone number\", \"cell\" and \"msisdn\" work too)"))
        }
        return .success(
            ImportColumnMap(
                fields: fields, attributes: attributes, columnCount: headers.count, dataOffset: dataOffset, defaultCountry: defaultCountry))
    }
}

/// Why a whole file cannot be imported: stored as the import's `error`.
public struct ImportFileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

func quoted(_ text: String) -> String { "\"" + text + "\"" }
