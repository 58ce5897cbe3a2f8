/// An error from PostgreSQL or from talking to it.
///
/// `description` names the kind of failure, the SQLSTATE and the schema objects
/// involved, but never the server's message text or detail: those can quote the
/// bound values (phone numbers, message bodies), which must stay out of logs.
/// ``serverMessage`` is there for callers that know it is safe to show.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, as far as the caller needs to react.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// Could not open a connection (bad URL, refused, authentication).
        public static let connectionFailed = Code(raw: "connectionFailed")
        /// The connection broke during the call: the statement may or may not have run.
        public static let connectionLost = Code(raw: "connectionLost")
        /// The server rejected the statement; see ``PostgresError/sqlState``.
        public static let queryFailed = Code(raw: "queryFailed")
        /// A column could not be decoded as the requested Swift type.
        public static let decodingFailed = Code(raw: "decodingFailed")
        /// A COPY could not be sent or was rejected.
        public static let copyFailed = Code(raw: "copyFailed")
        public var description: String { raw }
    }

    public var code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public var sqlState: SQLState?
    /// The constraint, table and column the server named, if any (identifiers, never values).
    public var constraint: String?
    public var table: String?
    public var column: String?
    /// The server's primary message. It can contain bound values: do not log it.
    public var serverMessage: String?

    public init(
        code: Code, sqlState: SQLState? = nil, constraint: String? = nil, table: String? = nil,
        column: String? = nil, serverMessage: String? = nil
    ) {
        self.code = code
        self.sqlState = sqlState
        self.constraint = constraint
        self.table = table
        self.column = column
        self.serverMessage = serverMessage
    }

    public var description: String {
        var parts = ["PostgresError(\(code)"]
        if let sqlState { parts.append("SQLSTATE \(sqlState.rawValue)") }
        if let table { parts.append("table \(table)") }
        if let column { parts.append("column \(column)") }
        if let constraint { parts.append("constraint \(constraint)") }
        return parts.joined(separator: ", ") + ")"
    }
}

/// A SQLSTATE code, with names for the ones callers react to.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    /// Also "cached plan must not change result type", after a schema change.
    public static let featureNotSupported = SQLState(rawValue: "0A000")

    /// Errors worth retrying the whole transaction for.
    public var isTransient: Bool {
        self == .serializationFailure || self == .deadlockDetected || self == .lockNotAvailable
    }
}
