import CLibPQ
import ConnectionPool

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Not `Sendable`: it is only used on a pool thread by one
/// caller at a time (see ``PostgresClient``). Every call blocks.
public final class PostgresConnection: PooledConnection {
    private let handle: OpaquePointer

    /// Opens a connection.
    /// - Parameter url: a `postgres://user:pass@host:port/db?sslmode=…` URI or a
    ///   `host=… dbname=…` key/value string; libpq parses both.
    /// - Parameter applicationName: shown in `pg_stat_activity`.
    public init(url: String, applicationName: String = "smscrm", connectTimeoutSeconds: Int = 5) throws {
        // Defaults come first: with expand_dbname, what the URL says overrides them.
        let keys = ["application_name", "connect_timeout", "dbname"]
        let values = [applicationName, String(connectTimeoutSeconds), url]
        let conn = withCStrings(keys) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let conn else { throw PostgresError(code: .connectionFailed, serverMessage: "out of memory") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(conn)).trimmingTrailingNewlines()
            PQfinish(conn)
            throw PostgresError(code: .connectionFailed, serverMessage: message)
        }
        // NOTICEs (e.g. "relation already exists, skipping") would go to stderr.
        PQsetNoticeProcessor(conn, { _, _ in }, nil)
        self.handle = conn
    }

    deinit { PQfinish(handle) }

    /// Statements this connection has prepared, by SQL text and parameter types.
    private var prepared: [PreparedKey: String] = [:]
    private var preparedCount = 0

    /// How many statements one connection keeps prepared; past it, statements
    /// run unprepared (SQL built from varying text would otherwise grow the
    /// server's memory without end).
    public static let preparedStatementLimit = 500

    private struct PreparedKey: Hashable {
        var sql: String
        var types: [UInt32]
    }

    /// Runs one parameterized statement and returns its rows.
    ///
    /// A statement with parameters is prepared the first time this connection
    /// runs it (`PQprepare`) and executed by name after that
    /// (`PQexecPrepared`), so PostgreSQL parses and plans it once per
    /// connection instead of on every call: the send path runs the same dozen
    /// statements for every message. Statements without parameters (BEGIN,
    /// SET, FETCH, DDL) run as they are.
    @discardableResult
    public func query(_ sql: String, _ binds: [PostgresBind]) throws -> PostgresRows {
        let count = Int32(binds.count)
        let types = binds.map { $0.oid }
        let statement = binds.isEmpty ? nil : try preparedName(sql, types: types)
        let result: OpaquePointer? = sql.withCString { sqlPointer in
            let formats = binds.map { $0.format.rawValue }
            let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
            // Copy each value into one NUL-terminated buffer; libpq reads text
            // values up to the NUL and binary ones by length.
            var storage: [UnsafeMutablePointer<CChar>?] = binds.map { bind in
                guard let bytes = bind.bytes else { return nil }
                let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                bytes.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress!, byteCount: bytes.count)
                }
                buffer[bytes.count] = 0
                return buffer
            }
            defer { for pointer in storage { pointer?.deallocate() } }
            return storage.withUnsafeMutableBufferPointer { values in
                values.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                    if let statement {
                        return PQexecPrepared(handle, statement, count, values.baseAddress, lengths, formats, 0)
                    }
                    return PQexecParams(handle, sqlPointer, count, types, values.baseAddress, lengths, formats, 0)
                }
            }
        }
        do {
            return try consume(result)
        } catch let error as PostgresError where statement != nil && error.sqlState == .featureNotSupported {
            // "cached plan must not change result type": a migration changed a
            // table under this prepared statement. Prepare it afresh next time.
            prepared[PreparedKey(sql: sql, types: types)] = nil
            throw error
        }
    }

    /// The name `sql` is prepared under on this connection, preparing it now
    /// if need be; nil once the connection holds its limit of statements.
    private func preparedName(_ sql: String, types: [UInt32]) throws -> String? {
        let key = PreparedKey(sql: sql, types: types)
        if let name = prepared[key] { return name }
        guard prepared.count < Self.preparedStatementLimit else { return nil }
        preparedCount += 1
        let name = "smscrm_\(preparedCount)"
        _ = try consume(PQprepare(handle, name, sql, Int32(types.count), types))
        prepared[key] = name
        return name
    }

    /// Runs one parameterized statement with variadic binds.
    @discardableResult
    public func query(_ sql: String, _ binds: any PostgresEncodable...) throws -> PostgresRows {
        try query(sql, binds.map { $0.postgresBind })
    }

    /// Runs a trusted SQL script with the simple-query protocol (`PQexec`),
    /// which allows several statements. Only for migration files shipped with
    /// the program: it takes no parameters, so never build its text from input.
    public func executeScript(_ sql: String) throws {
        let result = PQexec(handle, sql)
        _ = try consume(result)
    }

    /// Streams rows into `COPY … FROM STDIN` (text format) and returns how many were copied.
    /// Each row is a list of column values; `nil` is NULL.
    @discardableResult
    public func copyFrom(_ copySQL: String, rows: some Sequence<[String?]>) throws -> Int {
        try copyFrom(copySQL) { send in
            var buffer: [UInt8] = []
            buffer.reserveCapacity(1 << 16)
            for row in rows {
                PostgresCopyText.append(row: row, to: &buffer)
                if buffer.count >= 1 << 16 {
                    try send(buffer)
                    buffer.removeAll(keepingCapacity: true)
                }
            }
            if !buffer.isEmpty { try send(buffer) }
        }
    }

    /// Streams raw COPY data (in whatever format `copySQL` declares) produced by `produce`.
    @discardableResult
    public func copyFrom(_ copySQL: String, produce: (_ send: ([UInt8]) throws -> Void) throws -> Void) throws -> Int {
        let start = PQexec(handle, copySQL)
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            _ = try consume(start)
            throw PostgresError(code: .copyFailed, serverMessage: "the statement did not start a COPY FROM STDIN")
        }
        PQclear(start)
        var producerError: (any Error)?
        do {
            try produce { chunk in
                let sent = chunk.withUnsafeBytes { raw in
                    PQputCopyData(handle, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
                }
                guard sent == 1 else { throw self.connectionError(code: .copyFailed) }
            }
        } catch {
            producerError = error
        }
        // Ending with an error message makes the server abort the COPY.
        let ended = producerError == nil ? PQputCopyEnd(handle, nil) : PQputCopyEnd(handle, "aborted by client")
        guard ended == 1 else { throw connectionError(code: .copyFailed) }
        let result = PQgetResult(handle)
        // Drain until NULL so the connection is ready for the next command.
        defer { while let extra = PQgetResult(handle) { PQclear(extra) } }
        if let producerError {
            PQclear(result)
            throw producerError
        }
        return try consume(result).affectedRows
    }

    /// Runs `body` inside BEGIN/COMMIT, rolling back when it throws.
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try query("BEGIN", [])
        let value: T
        do {
            value = try body(self)
        } catch {
            // If even ROLLBACK fails the connection is broken and the pool drops it.
            _ = try? query("ROLLBACK", [])
            throw error
        }
        try query("COMMIT", [])
        return value
    }

    // MARK: PooledConnection

    public func isAliveWhenIdle() -> Bool {
        PQstatus(handle) == CONNECTION_OK && !idleSocketLooksClosed(PQsocket(handle))
    }

    public var mustBeDiscarded: Bool {
        PQstatus(handle) != CONNECTION_OK || PQtransactionStatus(handle) != PQTRANS_IDLE
    }

    // MARK: Results

    private func consume(_ result: OpaquePointer?) throws -> PostgresRows {
        guard let result else { throw connectionError(code: .connectionLost) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            let columnCount = Int(PQnfields(result))
            let rowCount = Int(PQntuples(result))
            let columns = PostgresColumns(names: (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) })
            var rows: [PostgresRow] = []
            rows.reserveCapacity(rowCount)
            for r in 0..<Int32(rowCount) {
                var values: [String?] = []
                values.reserveCapacity(columnCount)
                for c in 0..<Int32(columnCount) {
                    if PQgetisnull(result, r, c) == 1 {
                        values.append(nil)
                    } else {
                        let length = Int(PQgetlength(result, r, c))
                        let pointer = UnsafeRawPointer(PQgetvalue(result, r, c)!).assumingMemoryBound(to: UInt8.self)
                        values.append(String(decoding: UnsafeBufferPointer(start: pointer, count: length), as: UTF8.self))
                    }
                }
                rows.append(PostgresRow(columns: columns, values: values))
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(columnNames: columns.names, rows: rows, affectedRows: affected)
        default:
            throw serverError(result)
        }
    }

    private func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            guard let pointer = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: pointer)
        }
        guard let state = field("C") else {
            // No SQLSTATE: the failure happened on our side of the socket.
            return connectionError(code: .connectionLost)
        }
        return PostgresError(
            code: PQstatus(handle) == CONNECTION_OK ? .queryFailed : .connectionLost,
            sqlState: SQLState(rawValue: state),
            constraint: field("n"), table: field("t"), column: field("c"),
            serverMessage: field("M"))
    }

    private func connectionError(code: PostgresError.Code) -> PostgresError {
        PostgresError(
            code: PQstatus(handle) == CONNECTION_OK ? code : .connectionLost,
            serverMessage: String(cString: PQerrorMessage(handle)).trimmingTrailingNewlines())
    }
}

/// COPY's text format, for callers that build the stream themselves
/// (``PostgresConnection/copyFrom(_:produce:)``), possibly on several threads.
public enum PostgresCopyText {
    /// Appends one row in COPY's text format: tab-separated, `\N` for NULL,
    /// backslash, tab, newline and carriage return escaped.
    public static func append(row: [String?], to buffer: inout [UInt8]) {
        for (i, value) in row.enumerated() {
            if i > 0 { buffer.append(9) }
            guard let value else {
                buffer.append(contentsOf: [92, 78])  // \N
                continue
            }
            for byte in value.utf8 {
                switch byte {
                case 92: buffer.append(contentsOf: [92, 92])
                case 9: buffer.append(contentsOf: [92, 116])
                case 10: buffer.append(contentsOf: [92, 110])
                case 13: buffer.append(contentsOf: [92, 114])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(10)
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return pointers.map { UnsafePointer($0) }.withUnsafeBufferPointer { body($0.baseAddress!) }
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while let last = s.last, last.isNewline || last == " " { s = s.dropLast() }
        return String(s)
    }
}
