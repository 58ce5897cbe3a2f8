import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Postgres errors, transactions and COPY")
struct ErrorAndTransactionTests {
    @Test("a unique violation carries its SQLSTATE and constraint, and its description hides the bound value")
    func uniqueViolationIsRecognisable() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE phones (phone text CONSTRAINT phones_phone_key UNIQUE)")
        try await client.query("INSERT INTO phones VALUES ($1)", "+61412345678")

        let error = await #expect(throws: PostgresError.self) {
            try await client.query("INSERT INTO phones VALUES ($1)", "+61412345678")
        }

        #expect(error?.sqlState == .uniqueViolation)
        #expect(error?.constraint == "phones_phone_key")
        #expect(error?.description.contains("+61412345678") == false)
        #expect(error?.description.contains("23505") == true)
    }

    @Test("a statement with parameters is prepared once per connection, and prepared again after a schema change under it")
    func statementsArePreparedOncePerConnection() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE notes (id int PRIMARY KEY, body text)")
        try await client.withConnection { connection in
            let select = "SELECT * FROM notes WHERE id = $1"
            for id in 1...3 {
                try connection.query("INSERT INTO notes VALUES ($1, $2)", id, "note \(id)")
                #expect(try connection.query(select, id).first?.decode("body", as: String.self) == "note \(id)")
            }
            let statements = try connection.query("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
                .map { try $0.decode(at: 0, as: String.self) }
            #expect(statements.sorted() == ["INSERT INTO notes VALUES ($1, $2)", select].sorted(), "each prepared once, by its text")
            // Statements without parameters are not prepared.
            try connection.query("SELECT count(*) FROM notes")
            #expect(try connection.query("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")[0].decode(at: 0, as: Int.self) == 2)

            // A new column changes SELECT *'s result type: PostgreSQL refuses the
            // prepared plan once, and the next call prepares it afresh.
            try connection.query("ALTER TABLE notes ADD COLUMN pinned boolean NOT NULL DEFAULT false")
            let refused = #expect(throws: PostgresError.self) { try connection.query(select, 1) }
            #expect(refused?.sqlState == .featureNotSupported)
            #expect(try connection.query(select, 1).first?.decode("pinned", as: Bool.self) == false)
        }
    }

    @Test("a malformed value's error description does not quote the value")
    func invalidInputDoesNotLeakValue() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }

        let error = await #expect(throws: PostgresError.self) {
            try await client.query("SELECT $1::int", "secret-body-text")
        }

        #expect(error?.sqlState == .invalidTextRepresentation)
        #expect(error?.description.contains("secret-body-text") == false)
    }

    @Test("withTransaction rolls back everything when the closure throws")
    func transactionRollsBackOnThrow() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE ledger (n int)")
        struct Boom: Error {}

        await #expect(throws: Boom.self) {
            try await client.withTransaction { connection in
                try connection.query("INSERT INTO ledger VALUES (1)")
                try connection.query("INSERT INTO ledger VALUES (2)")
                throw Boom()
            }
        }

        let rows = try await client.query("SELECT count(*) AS n FROM ledger")
        #expect(try rows[0].decode("n", as: Int.self) == 0)
        // The connection went back to the pool usable, outside any transaction.
        try await client.withTransaction { try $0.query("INSERT INTO ledger VALUES (3)") }
        #expect(try await client.query("SELECT count(*) AS n FROM ledger")[0].decode("n", as: Int.self) == 1)
    }

    @Test("COPY FROM STDIN loads every row with escapes and NULLs intact")
    func copyLoadsRows() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE imported (n int, note text)")
        let rows: [[String?]] = (0..<20_000).map { n in
            [String(n), n % 7 == 0 ? nil : "row \(n)\twith\ttabs\\ and\nnewlines 📱"]
        }

        let copied = try await client.withConnection { connection in
            try connection.copyFrom("COPY imported (n, note) FROM STDIN", rows: rows)
        }

        #expect(copied == 20_000)
        let check = try await client.query(
            "SELECT count(*) AS n, count(note) AS notes, max(n) AS top FROM imported")
        #expect(try check[0].decode("n", as: Int.self) == 20_000)
        #expect(try check[0].decode("notes", as: Int.self) == 20_000 - (20_000 + 6) / 7)
        let sample = try await client.query("SELECT note FROM imported WHERE n = $1", 5)
        #expect(try sample[0].decode("note", as: String.self) == "row 5\twith\ttabs\\ and\nnewlines 📱")
    }

    @Test("a failing COPY is rolled back and leaves the connection usable")
    func failingCopyLeavesConnectionUsable() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty(), maxConnections: 1)
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE imported (n int)")

        await #expect(throws: PostgresError.self) {
            try await client.withConnection { connection in
                try connection.copyFrom("COPY imported (n) FROM STDIN", rows: [["1"], ["not a number"]])
            }
        }

        #expect(try await client.query("SELECT count(*) AS n FROM imported")[0].decode("n", as: Int.self) == 0)
    }
}
