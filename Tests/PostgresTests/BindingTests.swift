import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Postgres binding and decoding")
struct BindingTests {
    static let awkwardValues = [
        "it's a \"quoted\" value",
        "'; DROP TABLE bound_values; --",
        "$1 $2 \\ backslash",
        "semi;colon",
        "'--",
        "unicode: Ünïcödé 中文 עברית",
        "emoji: 📱💬🚀👩‍👩‍👧",
        "tab\tnewline\nreturn\r",
        String(repeating: "x", count: 100_000),
        "",
    ]

    @Test("awkward text values round-trip unchanged through a bound parameter", arguments: awkwardValues)
    func awkwardTextRoundTrips(value: String) async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }

        let rows = try await client.query("SELECT $1::text AS value", value)

        #expect(try rows[0].decode("value", as: String.self) == value)
    }

    @Test("a bound injection attempt is stored as a plain value and the table survives")
    func injectionStaysAValue() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        try await client.query("CREATE TABLE bound_values (v text NOT NULL)")
        let attack = "x'); DROP TABLE bound_values; --"

        try await client.query("INSERT INTO bound_values (v) VALUES ($1)", attack)
        let rows = try await client.query("SELECT v FROM bound_values WHERE v = $1", attack)

        #expect(rows.count == 1)
        #expect(try rows[0].decode("v", as: String.self) == attack)
        let tables = try await client.query("SELECT count(*) AS n FROM pg_tables WHERE tablename = 'bound_values'")
        #expect(try tables[0].decode("n", as: Int.self) == 1)
    }

    @Test("binary without NUL and with every other byte value round-trips as bytea")
    func binaryRoundTrips() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let bytes = PostgresBytes(Array(1...255) + [0xFF, 0x80, 0x27, 0x5C])

        let rows = try await client.query("SELECT $1::bytea AS b, length($1::bytea) AS n", bytes)

        #expect(try rows[0].decode("b", as: PostgresBytes.self) == bytes)
        #expect(try rows[0].decode("n", as: Int.self) == bytes.bytes.count)
    }

    @Test("typed columns decode to Swift values, and NULLs to nil")
    func typedDecoding() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }
        let id = UUID()
        let ids = [UUID(), UUID()]
        let instant = Date(timeIntervalSince1970: 1_732_537_200.123456)

        let rows = try await client.query(
            """
            SELECT $1::uuid AS id, $2::bigint AS big, $3::int AS small, $4::boolean AS flag,
                   $5::timestamptz AS at, $6::numeric AS amount, $7::jsonb AS doc,
                   $8::text[] AS tags, $9::uuid[] AS ids, NULL::text AS missing, NULL::int AS missing_int,
                   '2024-03-31 02:30:00+10:30'::timestamptz AS lord_howe
            """,
            id, Int64.max, 42, true, instant, Decimal(string: "12345.6789")!, PostgresJSON(text: #"{"a": [1, "two"]}"#),
            ["plain", "with,comma", "with \"quote\"", "NULL", "back\\slash", ""], ids)
        let row = rows[0]

        #expect(try row.decode("id", as: UUID.self) == id)
        #expect(try row.decode("big", as: Int64.self) == Int64.max)
        #expect(try row.decode("small", as: Int.self) == 42)
        #expect(try row.decode("flag", as: Bool.self) == true)
        #expect(abs(try row.decode("at", as: Date.self).timeIntervalSince(instant)) < 0.000_001)
        #expect(try row.decode("amount", as: Decimal.self) == Decimal(string: "12345.6789")!)
        #expect(try row.decode("doc", as: PostgresJSON.self).text == #"{"a": [1, "two"]}"#)
        #expect(try row.decode("tags", as: [String].self) == ["plain", "with,comma", "with \"quote\"", "NULL", "back\\slash", ""])
        #expect(try row.decode("ids", as: [UUID].self) == ids)
        #expect(try row.decodeIfPresent("missing", as: String.self) == nil)
        #expect(try row.decodeIfPresent("missing_int", as: Int.self) == nil)
        #expect(try row.decode("lord_howe", as: Date.self) == Date(timeIntervalSince1970: 1_711_814_400))
    }

    @Test("decoding NULL as a non-optional value throws a decoding error naming the column")
    func nullIntoNonOptionalThrows() async throws {
        let client = TestDatabases.client(try await TestDatabases.createEmpty())
        defer { Task { await client.shutdown() } }

        let rows = try await client.query("SELECT NULL::text AS nothing")

        let error = try #require(throws: PostgresError.self) { try rows[0].decode("nothing", as: String.self) }
        #expect(error.code == .decodingFailed)
        #expect(error.column == "nothing")
    }
}
