import Foundation
import HummingbirdTesting
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Contacts and do-not-contact")
struct ContactTests {
    @Test("a contact's phone is normalised with the tenant's country, and a duplicate is a 409")
    func createNormalisesAndRefusesDuplicates() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(tenant.id)/contacts", as: .bearer(key),
                json: ["phone": "0412 345 678", "first_name": "Ada", "timezone": "Australia/Perth",
                       "consent_source": "web_form", "attributes": ["tier": "gold", "visits": 3]])
            #expect(created.status == .created)
            #expect(created.object["phone"] as? String == "+61412345678")
            #expect(created.object["consent_source"] as? String == "web_form")
            #expect(created.object["consent_at"] is String)
            #expect((created.object["attributes"] as? [String: Any])?["tier"] as? String == "gold")
            // The API reads back the timestamps it writes (RFC 3339, UTC, milliseconds).
            let consentAt = try #require(created.object["consent_at"] as? String)
            #expect(consentAt.hasSuffix("Z"), "\(consentAt)")
            let id = try #require(created.object["id"] as? String)
            let roundTrip = try await client.call(.patch, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key), json: ["consent_at": consentAt, "consent_source": "web_form"])
            #expect(roundTrip.status == .ok, "\(String(buffer: roundTrip.body))")
            #expect(roundTrip.object["consent_at"] as? String == consentAt)
            // Milliseconds survive the trip whatever their binary representation.
            for value in ["2026-11-25T17:03:56.988Z", "2026-11-25T17:03:56.001Z", "2026-11-25T17:03:56.999Z", "2026-11-25T17:03:56.000Z"] {
                let echoed = try await client.call(
                    .patch, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key), json: ["consent_at": value, "consent_source": "web_form"])
                #expect(echoed.object["consent_at"] as? String == value)
            }

            let duplicate = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "+61 412 345 678"])
            #expect(duplicate.status == .conflict)
        }
        await api.shutdown()
    }

    @Test(
        "a contact reports its number's type, and a new phone brings its new type",
        arguments: [("0412 345 678", "mobile"), ("(02) 9876 5432", "fixed_line"), ("1300 123 456", "shared_cost")])
    func contactReportsNumberType(phone: String, type: String) async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let created = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "+1 415 555 2671"])
            let id = try #require(created.object["id"] as? String)

            let changed = try await client.call(.patch, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key), json: ["phone": phone])

            #expect(created.object["number_type"] as? String == "fixed_line_or_mobile")
            #expect(changed.object["number_type"] as? String == type)
        }
        await api.shutdown()
    }

    @Test("an invalid phone is refused with the number and the country in words")
    func invalidPhoneMessage() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let response = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "0512 345 678"])

            #expect((response.object["error"] as? [String: Any])?["message"] as? String == "phone: 0512 345 678 is not a valid number in Australia")
        }
        await api.shutdown()
    }

    @Test("a timezone link is stored as its zone, and a near miss is answered with the closest name")
    func timezoneLinksAndSuggestions() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let linked = try await client.call(
                .post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "0412 345 678", "timezone": "US/Eastern"])
            let misspelt = try await client.call(
                .post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "0412 345 679", "timezone": "America/New_Yrok"])

            #expect(linked.object["timezone"] as? String == "America/New_York")
            #expect(
                (misspelt.object["error"] as? [String: Any])?["message"] as? String
                    == "timezone: \"America/New_Yrok\" is not an IANA time zone: did you mean America/New_York?")
        }
        await api.shutdown()
    }

    @Test("impossible phones and unknown timezones are refused with the reason", arguments: [
        ["phone": "0412 345"], ["phone": "call me"], ["phone": "0412 345 678", "timezone": "Moon/Base"],
    ])
    func invalidContacts(body: [String: String]) async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let response = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: body)
            #expect(response.status == .unprocessableContent)
            let field = body["timezone"] == nil ? "phone" : "timezone"
            #expect((response.object["error"] as? [String: Any])?["details"] as? [String] == [field])
        }
        await api.shutdown()
    }

    @Test("contacts are searchable by phone and name, filterable by opt-out and consent, and paginate with a cursor")
    func searchFilterAndPaginate() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            for n in 0..<7 {
                var body: [String: Any] = ["phone": "+6141234500\(n)", "first_name": n == 3 ? "Grace" : "Person \(n)"]
                if n.isMultiple(of: 2) { body["consent_source"] = "import" }
                let response = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: body)
                #expect(response.status == .created)
            }
            try await api.services.postgres.query(
                "UPDATE contacts SET opted_out_at = now() WHERE tenant_id = $1::uuid AND phone_e164 = '+61412345005'", tenant.id)

            func phones(_ query: String) async throws -> [String] {
                let response = try await client.call(.get, "/tenants/\(tenant.id)/contacts?\(query)", as: .bearer(key))
                return (response.object["items"] as? [[String: Any]])?.compactMap { $0["phone"] as? String } ?? []
            }
            #expect(try await phones("search=grace") == ["+61412345003"])
            #expect(try await phones("search=12345006") == ["+61412345006"])
            #expect(try await phones("opted_out=true") == ["+61412345005"])
            #expect(try await phones("consent=true").count == 4)

            var seen: [String] = []
            var cursor: String?
            repeat {
                let response = try await client.call(
                    .get, "/tenants/\(tenant.id)/contacts?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), as: .bearer(key))
                seen += (response.object["items"] as? [[String: Any]])?.compactMap { $0["phone"] as? String } ?? []
                cursor = response.object["next_cursor"] as? String
            } while cursor != nil
            #expect(seen == (0..<7).map { "+6141234500\($0)" })
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts?cursor=garbage", as: .bearer(key)).status == .badRequest)
        }
        await api.shutdown()
    }

    @Test("PATCH changes named fields, null clears them, and withdrawing consent clears its time")
    func patchContact() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(tenant.id)/contacts", as: .bearer(key),
                json: ["phone": "0412 000 111", "first_name": "Ada", "last_name": "Lovelace", "consent_source": "sms"])
            let id = try #require(created.object["id"] as? String)

            let patched = try await client.call(
                .patch, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key), json: ["last_name": NSNull(), "consent_source": NSNull()])
            #expect(patched.status == .ok)
            #expect(patched.object["first_name"] as? String == "Ada")
            #expect(patched.object["last_name"] is NSNull)
            #expect(patched.object["consent_at"] is NSNull)

            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key)).status == .noContent)
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/contacts/\(id)", as: .bearer(key)).status == .notFound)
        }
        await api.shutdown()
    }

    @Test("adding a number to do-not-contact cancels its pending jobs, flags the contact, and is audited")
    func dncCancelsPendingJobs() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            let contact = try await client.call(.post, "/tenants/\(tenant.id)/contacts", as: .bearer(key), json: ["phone": "0412 999 888"])
            let contactID = try #require(contact.object["id"] as? String)
            try await seedJobs(api.services.postgres, tenantID: tenant.id, contactID: contactID, phone: "+61412999888")

            let added = try await client.call(.post, "/tenants/\(tenant.id)/dnc", as: .bearer(key), json: ["phone": "+61 412 999 888", "reason": "asked by phone"])
            #expect(added.status == .created)
            let again = try await client.call(.post, "/tenants/\(tenant.id)/dnc", as: .bearer(key), json: ["phone": "0412999888"])
            #expect(again.status == .ok)

            let statuses = try await api.services.postgres.query(
                "SELECT status FROM send_jobs WHERE tenant_id = $1::uuid ORDER BY status", tenant.id
            ).map { try $0.decode("status", as: String.self) }
            #expect(statuses == ["cancelled", "cancelled", "delivered"])
            let shown = try await client.call(.get, "/tenants/\(tenant.id)/contacts/\(contactID)", as: .bearer(key))
            #expect(shown.object["do_not_contact"] as? Bool == true)

            let entryID = try #require(added.object["id"] as? String)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/dnc/\(entryID)", as: .bearer(key)).status == .forbidden)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/dnc/\(entryID)", as: .bearer(admin)).status == .noContent)
            let actions = try await api.services.postgres.query(
                "SELECT action FROM audit_log WHERE tenant_id = $1::uuid AND action LIKE 'dnc.%' ORDER BY id", tenant.id
            ).map { try $0.decode("action", as: String.self) }
            #expect(actions == ["dnc.add", "dnc.add", "dnc.remove"])
        }
        await api.shutdown()
    }

    @Test("bulk do-not-contact adds the valid numbers and reports each rejected one by index")
    func bulkDNC() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            let response = try await client.call(
                .post, "/tenants/\(tenant.id)/dnc/bulk", as: .bearer(key),
                json: ["phones": ["0412 111 222", "not a number", "+61412111222", "0412 111 333"], "reason": "complaint"])
            #expect(response.status == .ok)
            #expect(response.object["added"] as? Int == 2)
            #expect((response.object["rejected"] as? [[String: Any]])?.map { $0["index"] as? Int } == [1])
            let listing = try await client.call(.get, "/tenants/\(tenant.id)/dnc?search=111333", as: .bearer(key))
            #expect((listing.object["items"] as? [[String: Any]])?.count == 1)
        }
        await api.shutdown()
    }
}

/// Three jobs for one contact: two pending, one delivered.
func seedJobs(_ postgres: PostgresClient, tenantID: String, contactID: String, phone: String) async throws {
    try await postgres.withTransaction { connection in
        let number = try connection.query(
            "INSERT INTO sending_numbers (tenant_id, phone_e164, kind, throughput_sps) VALUES ($1::uuid, $2, 'long_code', 1) RETURNING id::text",
            tenantID, "+6140000\(Int.random(in: 1000...9999))")[0].decode("id", as: String.self)
        for status in ["queued", "deferred", "delivered"] {
            let campaign = try connection.query(
                "INSERT INTO campaigns (tenant_id, name, body_template) VALUES ($1::uuid, 'c', 'hi') RETURNING id::text", tenantID
            )[0].decode("id", as: String.self)
            try connection.query(
                """
                INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments, status)
                VALUES ($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5, '+61400000001', 'hi', 'gsm7', 1, $6)
                """, tenantID, campaign, contactID, number, phone, status)
        }
    }
}
