import Foundation
import HummingbirdTesting
import NIOCore
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Message log, conversations and CSV exports")
struct MessageLogTests {
    @Test("the message log lists a tenant's outbound messages newest first, filtered by campaign, status and phone, page by page")
    func messageLogFiltersAndPages() async throws {
        let fixture = try await WebhookFixture.make(jobStatus: "delivered")
        let key = try await fixture.harness.makeKey(role: .viewer, in: fixture.tenant)
        // Two more jobs of the same campaign to other numbers, created later.
        let campaign: String = try await fixture.postgres.query("SELECT campaign_id::text FROM send_jobs WHERE id = $1::uuid", fixture.jobID)[0].decode(at: 0)
        try await fixture.postgres.query(
            """
            INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments, status, created_at)
            SELECT tenant_id, campaign_id, gen_random_uuid(), sending_number_id, '+6141299900' || i, from_phone, 'Later ' || i, 'gsm7', 1, 'queued',
                   now() + i * interval '1 second'
            FROM send_jobs, generate_series(1, 2) AS i WHERE id = $1::uuid
            """, fixture.jobID)
        try await fixture.harness.test { client in
            let base = "/tenants/\(fixture.tenant.id)/messages"

            let first = try await client.call(.get, base + "?limit=2", as: .bearer(key))
            let firstItems = try #require(first.object["items"] as? [[String: Any]])
            let cursor = try #require(first.object["next_cursor"] as? String)
            let second = try await client.call(.get, base + "?limit=2&cursor=\(cursor)", as: .bearer(key))
            let secondItems = try #require(second.object["items"] as? [[String: Any]])

            #expect(firstItems.compactMap { $0["body"] as? String } == ["Later 2", "Later 1"])
            #expect(secondItems.compactMap { $0["id"] as? String } == [fixture.jobID])
            #expect(second.object["next_cursor"] is NSNull || second.object["next_cursor"] == nil)
            #expect(secondItems.first?["direction"] as? String == "outbound")
            let delivered = try await client.call(.get, base + "?status=delivered&campaign_id=\(campaign)", as: .bearer(key))
            #expect((delivered.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [fixture.jobID])
            let national = "%2B" + fixture.phone.dropFirst()
            let byPhone = try await client.call(.get, base + "?phone=\(national)", as: .bearer(key))
            #expect((byPhone.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [fixture.jobID])
        }
        await fixture.harness.shutdown()
    }

    @Test("bad message-log filters answer 400 naming the parameter, and a phone that is no number 422")
    func badFilters() async throws {
        let fixture = try await WebhookFixture.make()
        let key = try await fixture.harness.makeKey(role: .viewer, in: fixture.tenant)
        try await fixture.harness.test { client in
            for (query, field) in [
                ("status=lost", "status"), ("since=yesterday", "since"), ("until=2027-02-30T25:00:00Z", "until"), ("campaign_id=x", "campaign_id"),
                ("phone=12", "phone"),
            ] {
                let response = try await client.call(.get, "/tenants/\(fixture.tenant.id)/messages?\(query)", as: .bearer(key))
                #expect(response.status == (field == "phone" ? .unprocessableContent : .badRequest), "\(query)")
                #expect((response.object["error"] as? [String: Any])?["details"] as? [String] == [field], "\(query)")
            }
        }
        await fixture.harness.shutdown()
    }

    @Test("a contact's conversation holds the texts sent to them, their replies and the automatic answers to their keywords")
    func conversation() async throws {
        let fixture = try await WebhookFixture.make()
        let key = try await fixture.harness.makeKey(role: .viewer, in: fixture.tenant)
        try await fixture.harness.test { client in
            _ = try await WebhookTests().inbound(client, fixture, body: "Who is this?")
            _ = try await WebhookTests().inbound(client, fixture, body: "HELP")

            let response = try await client.call(.get, "/tenants/\(fixture.tenant.id)/contacts/\(fixture.contactID)/messages", as: .bearer(key))

            let items = try #require(response.object["items"] as? [[String: Any]])
            let kinds = items.compactMap { item in (item["kind"] as? String).map { "\($0):\(item["direction"] as? String ?? "")" } }
            #expect(Set(kinds) == ["campaign:outbound", "inbound:inbound", "auto_reply:outbound"])
            #expect(items.count == 4)
            let reply = try #require(items.first { $0["kind"] as? String == "auto_reply" })
            #expect(reply["keyword"] as? String == "help")
            #expect(reply["to"] as? String == fixture.phone)
            #expect((reply["body"] as? String)?.isEmpty == false)
        }
        await fixture.harness.shutdown()
    }

    @Test("another tenant's contact's conversation is a 404")
    func conversationIsWalledOff() async throws {
        let fixture = try await WebhookFixture.make()
        let other = try await fixture.harness.makeTenant()
        let key = try await fixture.harness.makeKey(role: .owner, in: other)
        try await fixture.harness.test { client in
            let response = try await client.call(.get, "/tenants/\(other.id)/contacts/\(fixture.contactID)/messages", as: .bearer(key))
            #expect(response.status == .notFound)
        }
        await fixture.harness.shutdown()
    }

    @Test("the contacts export streams every contact as CSV with spreadsheet formulas neutralised, and is audited")
    func contactsExport() async throws {
        let fixture = try await WebhookFixture.make()
        let key = try await fixture.harness.makeKey(role: .member, in: fixture.tenant)
        try await fixture.postgres.query("UPDATE contacts SET first_name = '=HYPERLINK(\"http://x\")', last_name = '@SUM(A1)' WHERE id = $1::uuid", fixture.contactID)
        // More contacts than one export page.
        try await fixture.postgres.query(
            "INSERT INTO contacts (tenant_id, phone_e164, first_name) SELECT $1::uuid, '+6141' || lpad(i::text, 7, '0'), 'n' || i FROM generate_series(1, 5100) AS i",
            fixture.tenant.id)
        try await fixture.harness.test { client in
            let response = try await client.call(.get, "/tenants/\(fixture.tenant.id)/exports/contacts", as: .bearer(key))

            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/csv") == true)
            let text = String(buffer: response.body)
            let lines = text.split(separator: "\r\n", omittingEmptySubsequences: true)
            #expect(lines.count == 1 + 5101)
            #expect(lines.first == Substring(CSVExport.contactHeader.joined(separator: ",")))
            let marked = try #require(lines.first { $0.hasPrefix(fixture.contactID) })
            #expect(marked.contains("\"'=HYPERLINK(\"\"http://x\"\")\""))
            #expect(marked.contains(",'@SUM(A1),"))
            #expect(marked.contains(",'\(fixture.phone),"))
        }
        let audited = try await fixture.postgres.query(
            "SELECT count(*) FROM audit_log WHERE tenant_id = $1::uuid AND action = 'export.contacts'", fixture.tenant.id)
        #expect(try audited[0].decode(at: 0, as: Int.self) == 1)
        await fixture.harness.shutdown()
    }

    @Test("the messages and do-not-contact exports hold the tenant's rows, and a viewer may not export")
    func otherExports() async throws {
        let fixture = try await WebhookFixture.make()
        let member = try await fixture.harness.makeKey(role: .member, in: fixture.tenant)
        let viewer = try await fixture.harness.makeKey(role: .viewer, in: fixture.tenant)
        try await fixture.postgres.query(
            "INSERT INTO do_not_contact (tenant_id, phone_e164, reason, source) VALUES ($1::uuid, '+61412000555', 'complaint', 'manual')", fixture.tenant.id)
        try await fixture.harness.test { client in
            let messages = String(buffer: try await client.call(.get, "/tenants/\(fixture.tenant.id)/exports/messages", as: .bearer(member)).body)
            #expect(messages.split(separator: "\r\n").count == 2)
            #expect(messages.contains(fixture.jobID))
            let dnc = String(buffer: try await client.call(.get, "/tenants/\(fixture.tenant.id)/exports/do-not-contact", as: .bearer(member)).body)
            #expect(dnc.contains(",'+61412000555,complaint,manual,"))

            let refused = try await client.call(.get, "/tenants/\(fixture.tenant.id)/exports/messages", as: .bearer(viewer))
            #expect(refused.status == .forbidden)
        }
        await fixture.harness.shutdown()
    }
}

@Suite("CSV cells")
struct CSVExportTests {
    @Test("cells that a spreadsheet would run are prefixed, and quoting follows RFC 4180")
    func cells() {
        let cases: [(String?, String)] = [
            (nil, ""), ("", ""), ("plain", "plain"), ("=1+1", "'=1+1"), ("+61412345678", "'+61412345678"), ("-5", "'-5"), ("@cmd", "'@cmd"),
            ("\tx", "'\tx"), ("\rx", "\"'\rx\""), ("a,b", "\"a,b\""), ("say \"hi\"", "\"say \"\"hi\"\"\""), ("line\nbreak", "\"line\nbreak\""),
            ("=A1,B1", "\"'=A1,B1\""), ("a=b", "a=b"),
        ]
        for (value, expected) in cases {
            #expect(CSVExport.cell(value) == expected, "\(value ?? "nil")")
        }
        #expect(CSVExport.line(["a", nil, "=b"]) == "a,,'=b\r\n")
    }
}
