import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import SMSCore
import Testing
import TestSupport

/// Helpers for the import routes: upload, run the processor in process, read back.
extension APIHarness {
    func processor(chunkRows: Int = 5_000, instance: String = "test-\(UUID().uuidString.prefix(6))") -> ImportProcessor {
        ImportProcessor(
            postgres: services.postgres, logger: services.logger,
            configuration: .init(chunkRows: chunkRows, lease: .seconds(60), pollInterval: .milliseconds(50), instanceID: instance))
    }

    /// Imports every waiting upload to the end.
    func processImports(chunkRows: Int = 5_000) async throws {
        try await processor(chunkRows: chunkRows).processAvailable()
    }

    func contact(_ phone: String, in tenant: Tenant) async throws -> PostgresRow? {
        try await services.postgres.query(
            """
            SELECT first_name, last_name, email, timezone, consent_at, consent_source, attributes::text
            FROM contacts WHERE tenant_id = $1::uuid AND phone_e164 = $2
            """, tenant.id, phone
        ).first
    }

    func count(_ sql: String, _ binds: any PostgresEncodable...) async throws -> Int {
        try await services.postgres.query(sql, binds.map(\.postgresBind))[0].decode(at: 0)
    }
}

extension TestClientProtocol {
    func uploadCSV(_ csv: String, tenant: Tenant, key: String, query: String = "") async throws -> TestResponse {
        try await uploadCSV(Array(csv.utf8), tenant: tenant, key: key, query: query)
    }

    func uploadCSV(_ bytes: [UInt8], tenant: Tenant, key: String, query: String = "", contentType: String = "text/csv") async throws -> TestResponse {
        try await executeRequest(
            uri: "/tenants/\(tenant.id)/imports\(query)", method: .post,
            headers: [.authorization: "Bearer \(key)", .contentType: contentType], body: ByteBuffer(bytes: bytes))
    }

    func importDetail(_ id: String, tenant: Tenant, key: String, query: String = "") async throws -> [String: Any] {
        let response = try await executeRequest(
            uri: "/tenants/\(tenant.id)/imports/\(id)\(query)", method: .get, headers: [.authorization: "Bearer \(key)"], body: nil)
        #expect(response.status == .ok)
        return response.object
    }
}

/// `counts` of an import as a dictionary of integers.
func counts(_ detail: [String: Any]) -> [String: Int] {
    (detail["counts"] as? [String: Int]) ?? [:]
}

func rejections(_ detail: [String: Any]) -> [(row: Int, kind: String, reason: String)] {
    ((detail["rejections"] as? [[String: Any]]) ?? []).map {
        (row: $0["row_number"] as? Int ?? 0, kind: $0["kind"] as? String ?? "", reason: $0["reason"] as? String ?? "")
    }
}

@Suite("CSV imports")
struct ImportTests {
    /// Rows: 1 updates an existing contact, 2 is new, 3-5, 9 and 11 are refused,
    /// 6 repeats row 2's phone (the later row wins), 7 is on do-not-contact, 8
    /// is blank, 10 is new despite its trailing empty fields.
    static let mixedCSV = """
        Phone, First Name ,Last Name,E-mail,Time Zone,Consent,Plan
        0412 000 010,Ann,Lee,ann@example.com,Australia/Sydney,yes,gold
        0412000011,Bob,,bob@example.com,,no,
        0412 345,Bad,Phone,,,,
        0412000012,Cat,,,Mars/Olympus,,
        0412000013,Dan,,not-an-email,,,
        +61 412 000 011,Bobby,,,,Y,silver
        0412000020,Eve,,,,,
        ,,,,,,
        call me,,,,,,
        0412000014,Fay,,,,,,,,
        0412000015,Gus,,,,,,,extra

        """

    @Test(
        "good rows, bad phones, a bad timezone, duplicates and a DNC number give exact counts and reasons, whatever the chunk size",
        arguments: [2, 3, 5_000])
    func mixedFileGivesExactCountsAndReasons(chunkRows: Int) async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let key = try await api.makeKey(role: .member, in: tenant)
        var existing = ContactFields()
        existing.firstName = .some("Old")
        existing.attributes = ["tier": .string("1")]
        _ = try await ContactStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, phone: "+61412000010", fields: existing,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "contact.create"))
        _ = try await DoNotContactStore(postgres: api.services.postgres, queue: SendQueue(redis: api.services.redis)).add(
            tenantID: tenant.id, phones: ["+61412000020"], reason: "stop", source: .manual, createdBy: nil,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "dnc.add"))

        try await api.test { client in
            let upload = try await client.uploadCSV(Self.mixedCSV, tenant: tenant, key: key, query: "?filename=mixed.csv")
            #expect(upload.status == .accepted)
            let id = try #require(upload.object["id"] as? String)
            #expect(upload.headers[.location] == "/tenants/\(tenant.id)/imports/\(id)")
            #expect(upload.object["status"] as? String == "pending")
            #expect(upload.object["filename"] as? String == "mixed.csv")

            try await api.processImports(chunkRows: chunkRows)

            let detail = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(detail["status"] as? String == "completed")
            #expect(detail["error"] is NSNull)
            #expect(counts(detail) == ["imported": 3, "updated": 1, "rejected": 5, "flagged": 1, "duplicates": 1])
            let progress = detail["progress"] as? [String: Any]
            #expect(progress?["processed_rows"] as? Int == 10)
            #expect(progress?["total_rows"] as? Int == 10)
            #expect(progress?["percent"] as? Int == 100)
            let refused = rejections(detail)
            #expect(refused.map(\.row) == [3, 4, 5, 7, 9, 11])
            #expect(refused.map(\.kind) == ["rejected", "rejected", "rejected", "flagged", "rejected", "rejected"])
            #expect(refused[0].reason == "phone is not a valid number in Australia")
            #expect(refused[1].reason == "invalid timezone \"Mars/Olympus\": use an IANA name such as Australia/Sydney")
            #expect(refused[2].reason == "invalid email address")
            #expect(refused[3].reason == "on the do-not-contact list: imported, but it will not be texted")
            #expect(refused[4].reason == "phone contains letters or symbols that are not part of a phone number")
            #expect(refused[5].reason == "the row has 9 fields but the header has 7; quote fields that contain commas")
            #expect((detail["rejections"] as? [[String: Any]])?.first?["raw"] as? String == "0412 345,Bad,Phone,,,,")
        }

        // The later row won for +61412000011; the existing contact kept what the row left empty.
        let bob = try #require(try await api.contact("+61412000011", in: tenant))
        #expect(try bob.decodeIfPresent("first_name", as: String.self) == "Bobby")
        #expect(try bob.decodeIfPresent("email", as: String.self) == "bob@example.com")
        #expect(try bob.decodeIfPresent("consent_source", as: String.self) == "import")
        #expect(!bob.isNull("consent_at"))
        #expect(try bob.decode("attributes", as: String.self) == #"{"Plan": "silver"}"#)
        let ann = try #require(try await api.contact("+61412000010", in: tenant))
        #expect(try ann.decodeIfPresent("first_name", as: String.self) == "Ann")
        #expect(try ann.decodeIfPresent("timezone", as: String.self) == "Australia/Sydney")
        #expect(try ann.decode("attributes", as: String.self) == #"{"Plan": "gold", "tier": "1"}"#)
        #expect(try await api.count("SELECT count(*) FROM contacts WHERE tenant_id = $1::uuid", tenant.id) == 4)
        #expect(try await api.count("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND action IN ('import.create', 'import.complete')", tenant.id) == 2)
        // The stored file is dropped once the import is done.
        #expect(try await api.count("SELECT count(*) FROM import_batches WHERE tenant_id = $1::uuid AND csv_data IS NULL", tenant.id) == 1)
        await api.shutdown()
    }

    @Test("an import stores each number's type and flags the numbers that cannot receive a text")
    func importRecordsNumberTypes() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let key = try await api.makeKey(role: .member, in: tenant)
        let csv = "phone,first_name\n0412 000 401,Mobile\n(02) 9876 5432,Landline\n1800 123 456,Freephone\n+1 415 555 2671,Either\n"

        try await api.test { client in
            let upload = try await client.uploadCSV(csv, tenant: tenant, key: key)
            let id = try #require(upload.object["id"] as? String)
            try await api.processImports(chunkRows: 5_000)
            let detail = try await client.importDetail(id, tenant: tenant, key: key)

            #expect(counts(detail)["imported"] == 4)
            #expect(counts(detail)["flagged"] == 2)
            #expect(rejections(detail).map(\.reason) == [
                "the number is a landline and cannot receive text messages: imported, but it will not be texted",
                "the number is a toll-free number and cannot receive text messages: imported, but it will not be texted",
            ])
        }
        let types = try await api.services.postgres.query(
            "SELECT phone_e164, number_type FROM contacts WHERE tenant_id = $1::uuid ORDER BY phone_e164", tenant.id
        ).map { "\(try $0.decode("phone_e164", as: String.self)) \(try $0.decode("number_type", as: String.self))" }
        #expect(types == [
            "+14155552671 fixed_line_or_mobile", "+611800123456 toll_free", "+61298765432 fixed_line", "+61412000401 mobile",
        ])
        await api.shutdown()
    }

    @Test("a multipart upload imports its file part into the given lists with the given consent source")
    func multipartUpload() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let list = try await ContactListStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, name: "Spring", description: nil, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.create"))
        let boundary = "----smscrm\(UUID().uuidString.prefix(8))"
        let body = """
            --\(boundary)\r
            Content-Disposition: form-data; name="consent_source"\r
            \r
            web form\r
            --\(boundary)\r
            Content-Disposition: form-data; name="list_ids"\r
            \r
            \(list.id)\r
            --\(boundary)\r
            Content-Disposition: form-data; name="file"; filename="exports/people.csv"\r
            Content-Type: text/csv\r
            \r
            mobile,firstname,opt in\r
            0412 111 001,Ada,yes\r
            0412 111 002,Grace,no\r
            \r
            --\(boundary)--\r

            """
        try await api.test { client in
            let upload = try await client.uploadCSV(
                Array(body.utf8), tenant: tenant, key: key, contentType: "multipart/form-data; boundary=\(boundary)")
            #expect(upload.status == .accepted)
            let id = try #require(upload.object["id"] as? String)
            #expect(upload.object["filename"] as? String == "people.csv")
            #expect((upload.object["options"] as? [String: Any])?["consent_source"] as? String == "web form")
            try await api.processImports()
            let detail = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(detail["status"] as? String == "completed")
            #expect(counts(detail) == ["imported": 2, "updated": 0, "rejected": 0, "flagged": 0, "duplicates": 0])
        }
        let ada = try #require(try await api.contact("+61412111001", in: tenant))
        #expect(try ada.decodeIfPresent("consent_source", as: String.self) == "web form")
        let grace = try #require(try await api.contact("+61412111002", in: tenant))
        #expect(grace.isNull("consent_at"))
        #expect(try await api.count("SELECT count(*) FROM contact_list_members WHERE tenant_id = $1::uuid AND list_id = $2::uuid", tenant.id, list.id) == 2)
        await api.shutdown()
    }

    /// A file the processor must refuse as a whole, and the error it must give.
    struct UnreadableFile: Sendable, CustomTestStringConvertible {
        let name: String
        let bytes: [UInt8]
        let error: String
        var testDescription: String { name }
    }

    static let unreadableFiles: [UnreadableFile] = {
        var invalidUTF8: [UInt8] = Array("phone,first_name\n0412000001,Jos".utf8)
        invalidUTF8.append(0xE9)
        invalidUTF8 += Array("\n".utf8)
        var utf16: [UInt8] = [0xFF, 0xFE]
        utf16 += Array("p\0h\0".utf8)
        let saveAs = "save it as \"CSV UTF-8\" and upload it again"
        return [
            UnreadableFile(
                name: "invalid UTF-8", bytes: invalidUTF8,
                error: "the file is not valid UTF-8: byte 0xE9 at byte offset 31 (data row 1) is not UTF-8 text; " + saveAs),
            UnreadableFile(
                name: "no phone column", bytes: Array("Name,E-mail\nBob,bob@example.com\n".utf8),
                error: "no phone column: the header row has \"Name\", \"E-mail\"; name the column of phone numbers \"phone\" "
                    + "(\"mobile\", \"phone number\", \"cell\" and \"msisdn\" work too)"),
            UnreadableFile(
                name: "no header row", bytes: Array("0412000001,Bob\n0412000002,Ann\n".utf8),
                error: "no phone column: the first row looks like data, not a header (it holds a phone number); "
                    + "add a header row that names the columns, e.g. phone,first_name,last_name"),
            UnreadableFile(name: "empty", bytes: Array("\r\n  \n".utf8), error: "the file is empty"),
            UnreadableFile(
                name: "header only", bytes: Array("phone,first_name\r\n".utf8), error: "the file has a header row but no data rows"),
            UnreadableFile(
                name: "unclosed quote", bytes: Array("phone,first_name\n0412000001,\"Bob\n".utf8),
                error: "a quoted field that opens at byte offset 28 (data row 1) is never closed; "
                    + "check that quotes inside fields are doubled (\"\")"),
            UnreadableFile(name: "UTF-16", bytes: utf16, error: "the file is UTF-16 text, not UTF-8; " + saveAs),
        ]
    }()

    @Test("a file that cannot be imported fails with a clear error and imports nothing", arguments: unreadableFiles)
    func unreadableFilesFail(file: UnreadableFile) async throws {
        let expected = file.error
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let upload = try await client.uploadCSV(file.bytes, tenant: tenant, key: key)
            #expect(upload.status == .accepted)
            let id = try #require(upload.object["id"] as? String)
            try await api.processImports()
            let detail = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(detail["status"] as? String == "failed")
            #expect(detail["error"] as? String == expected)
            #expect(detail["completed_at"] is String)
        }
        #expect(try await api.count("SELECT count(*) FROM contacts WHERE tenant_id = $1::uuid", tenant.id) == 0)
        #expect(try await api.count("SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND action = 'import.fail'", tenant.id) == 1)
        await api.shutdown()
    }

    @Test("the upload is refused at once when it is empty (422), not CSV (415), too large (413) or names an unknown list (422)")
    func uploadRefusals() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let empty = try await client.uploadCSV("", tenant: tenant, key: key)
            #expect(empty.status == .unprocessableContent)
            #expect((empty.object["error"] as? [String: Any])?["details"] as? [String] == ["file"])

            let json = try await client.uploadCSV(Array(#"{"phone": "1"}"#.utf8), tenant: tenant, key: key, contentType: "application/json")
            #expect(json.status == .unsupportedMediaType)
            #expect(json.errorCode == "unsupported_media_type")

            // Past the 50 MB CSV limit (well past the API's 1 MB JSON limit).
            var big = Array("phone\n".utf8)
            big += [UInt8](repeating: UInt8(ascii: "1"), count: (50 << 20) + 1 - big.count)
            let tooLarge = try await client.uploadCSV(big, tenant: tenant, key: key)
            #expect(tooLarge.status == .contentTooLarge)
            #expect(tooLarge.errorCode == "payload_too_large")

            let unknownList = try await client.uploadCSV(
                "phone\n0412000001\n", tenant: tenant, key: key, query: "?list_ids=\(UUID().uuidString)")
            #expect(unknownList.status == .unprocessableContent)
            let notAnID = try await client.uploadCSV("phone\n0412000001\n", tenant: tenant, key: key, query: "?list_ids=vip")
            #expect(notAnID.status == .unprocessableContent)

            let noFile = try await client.uploadCSV(
                Array("--b\r\nContent-Disposition: form-data; name=\"consent_source\"\r\n\r\nx\r\n--b--\r\n".utf8), tenant: tenant, key: key,
                contentType: "multipart/form-data; boundary=b")
            #expect(noFile.status == .unprocessableContent)
        }
        #expect(try await api.count("SELECT count(*) FROM import_batches WHERE tenant_id = $1::uuid", tenant.id) == 0)
        await api.shutdown()
    }

    @Test("the lists column creates missing lists and adds the memberships, together with the upload's list_ids")
    func listsColumnCreatesListsAndMemberships() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let newsletter = try await ContactListStore(postgres: api.services.postgres).create(
            tenantID: tenant.id, name: "Newsletter", description: nil, audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "list.create"))
        let csv = """
            phone,lists
            0412000001,VIP; Newsletter
            0412000002,Newsletter|Staff
            0412000003,
            0412000001,VIP
            """
        try await api.test { client in
            let upload = try await client.uploadCSV(csv, tenant: tenant, key: key, query: "?list_ids=\(newsletter.id)")
            let id = try #require(upload.object["id"] as? String)
            try await api.processImports(chunkRows: 2)
            let detail = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(counts(detail) == ["imported": 3, "updated": 0, "rejected": 0, "flagged": 0, "duplicates": 1])
        }
        let rows = try await api.services.postgres.query(
            """
            SELECT l.name, l.id::text, count(m.contact_id) AS members FROM contact_lists l
            LEFT JOIN contact_list_members m ON m.list_id = l.id
            WHERE l.tenant_id = $1::uuid GROUP BY l.name, l.id ORDER BY l.name
            """, tenant.id)
        let members = Dictionary(uniqueKeysWithValues: try rows.map { (try $0.decode("name", as: String.self), try $0.decode("members", as: Int.self)) })
        #expect(members == ["Newsletter": 3, "Staff": 1, "VIP": 1])
        #expect(try rows.first { try $0.decode("name", as: String.self) == "Newsletter" }?.decode("id", as: String.self) == newsletter.id)
        await api.shutdown()
    }

    @Test("an import interrupted after one chunk is resumed by a new processor and completes with exact counts and no duplicates")
    func interruptedImportResumes() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        // Row 5 repeats row 1's phone across the chunk boundary; row 3 is refused.
        let csv = """
            phone,first_name
            0412000001,A
            0412000002,B
            bad,C

            0412 000 001,A2
            0412000003,D
            0412000004,E
            0412000005,F
            """
        try await api.test { client in
            let upload = try await client.uploadCSV(csv, tenant: tenant, key: key)
            let id = try #require(upload.object["id"] as? String)

            // The first process commits one chunk, then "crashes" holding its lease.
            let first = try await api.processor(chunkRows: 3, instance: "first").processNext(maxChunks: 1)
            guard case .stopped(let progress) = first else { Issue.record("expected a stopped run, got \(String(describing: first))"); return }
            #expect(progress?.processedRows == 3)
            let midway = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(midway["status"] as? String == "processing")
            #expect((midway["progress"] as? [String: Any])?["processed_rows"] as? Int == 3)

            // A new process cannot take it while the lease runs...
            let second = api.processor(chunkRows: 3, instance: "second")
            #expect(try await second.processNext() == nil)
            // ...and resumes from the cursor once it has run out.
            try await api.services.postgres.query(
                "UPDATE import_batches SET lease_expires_at = now() - interval '1 second' WHERE id = $1::uuid", id)
            guard case .completed(let final) = try await second.processNext() else { Issue.record("expected the import to complete"); return }
            #expect(final == ImportProgress(processedRows: 7, imported: 5, updated: 0, rejected: 1, flagged: 0, completed: true))

            let detail = try await client.importDetail(id, tenant: tenant, key: key)
            #expect(detail["status"] as? String == "completed")
            #expect(counts(detail) == ["imported": 5, "updated": 0, "rejected": 1, "flagged": 0, "duplicates": 1])
            #expect(rejections(detail).map(\.row) == [3])
        }
        #expect(try await api.count("SELECT count(*) FROM contacts WHERE tenant_id = $1::uuid", tenant.id) == 5)
        let a = try #require(try await api.contact("+61412000001", in: tenant))
        #expect(try a.decodeIfPresent("first_name", as: String.self) == "A2")
        await api.shutdown()
    }

    @Test("several processors running at once import each file exactly once")
    func concurrentProcessors() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            for file in 0..<3 {
                let rows = (0..<40).map { "04\(String(format: "%02d", file))\(String(format: "%06d", $0)),Name \($0)" }
                let upload = try await client.uploadCSV("phone,first_name\n" + rows.joined(separator: "\n"), tenant: tenant, key: key)
                #expect(upload.status == .accepted)
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for n in 0..<3 {
                group.addTask { try await api.processor(chunkRows: 7, instance: "p\(n)").processAvailable() }
            }
            try await group.waitForAll()
        }
        #expect(try await api.count("SELECT count(*) FROM contacts WHERE tenant_id = $1::uuid", tenant.id) == 120)
        let rows = try await api.services.postgres.query(
            "SELECT status, processed_rows, imported_count FROM import_batches WHERE tenant_id = $1::uuid", tenant.id)
        for row in rows {
            #expect(try row.decode("status", as: String.self) == "completed")
            #expect(try row.decode("processed_rows", as: Int.self) == 40)
            #expect(try row.decode("imported_count", as: Int.self) == 40)
        }
        #expect(rows.count == 3)
        await api.shutdown()
    }

    @Test("another tenant's key gets 404 on the import, and imports list newest first with pages")
    func importsAreTenantScopedAndPaginated() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let other = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let otherKey = try await api.makeKey(role: .owner, in: other)
        try await api.test { client in
            let first = try await client.uploadCSV("phone\n0412000001\n", tenant: tenant, key: key)
            let second = try await client.uploadCSV("phone\n0412000002\n", tenant: tenant, key: key)
            let firstID = try #require(first.object["id"] as? String)
            let secondID = try #require(second.object["id"] as? String)

            let foreign = try await client.call(.get, "/tenants/\(tenant.id)/imports/\(firstID)", as: .bearer(otherKey))
            #expect(foreign.status == .notFound)
            let crossed = try await client.call(.get, "/tenants/\(other.id)/imports/\(firstID)", as: .bearer(otherKey))
            #expect(crossed.status == .notFound)

            let page1 = try await client.call(.get, "/tenants/\(tenant.id)/imports?limit=1", as: .bearer(key))
            let items1 = page1.object["items"] as? [[String: Any]]
            #expect(items1?.map { $0["id"] as? String } == [secondID])
            #expect(items1?.first?["rejections"] == nil)
            let cursor = try #require(page1.object["next_cursor"] as? String)
            let page2 = try await client.call(.get, "/tenants/\(tenant.id)/imports?limit=1&cursor=\(cursor)", as: .bearer(key))
            #expect((page2.object["items"] as? [[String: Any]])?.map { $0["id"] as? String } == [firstID])
            #expect(page2.object["next_cursor"] == nil)
        }
        await api.shutdown()
    }

    @Test("rejected rows page with limit and cursor")
    func rejectionsPaginate() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let upload = try await client.uploadCSV("phone\nx1\n0412000001\nx2\nx3\n", tenant: tenant, key: key)
            let id = try #require(upload.object["id"] as? String)
            try await api.processImports()
            let page1 = try await client.importDetail(id, tenant: tenant, key: key, query: "?limit=2")
            #expect(rejections(page1).map(\.row) == [1, 3])
            let cursor = try #require(page1["rejections_next_cursor"] as? String)
            let page2 = try await client.importDetail(id, tenant: tenant, key: key, query: "?limit=2&cursor=\(cursor)")
            #expect(rejections(page2).map(\.row) == [4])
            #expect(page2["rejections_next_cursor"] is NSNull)
        }
        await api.shutdown()
    }
}
