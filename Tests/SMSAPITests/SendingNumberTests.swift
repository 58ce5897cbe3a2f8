import Foundation
import HummingbirdTesting
import NIOCore
import Postgres
import SMSCore
import Testing
import TestSupport

@Suite("Sending numbers")
struct SendingNumberTests {
    @Test("a number's phone is normalised with the tenant's country and its throughput defaults by kind")
    func createNormalisesAndDefaults() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()  // AU
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            for (n, (kind, throughput)) in [("long_code", 1.0), ("toll_free", 3.0), ("short_code", 100.0)].enumerated() {
                let created = try await client.call(
                    .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin), json: ["phone": "0412 345 67\(n)", "kind": kind])
                #expect(created.status == .created)
                let body = created.object
                #expect(body["phone"] as? String == "+6141234567\(n)")
                #expect(body["kind"] as? String == kind)
                #expect(body["throughput_sps"] as? Double == throughput)
                #expect(body["active"] as? Bool == true)
                // Absent optional fields are explicit nulls.
                for field in ["warmup_schedule", "warmup_started_at", "label"] { #expect(body[field] is NSNull, "\(field)") }

                let id = try #require(body["id"] as? String)
                let shown = try await client.call(.get, "/tenants/\(tenant.id)/numbers/\(id)", as: .bearer(admin))
                #expect(shown.object["phone"] as? String == "+6141234567\(n)")
            }
        }
        await api.shutdown()
    }

    @Test("a phone another tenant (or this one) already sends from is a 409 that names no tenant, and the owner's row is untouched")
    func duplicatePhoneAcrossTenants() async throws {
        let api = try await APIHarness.make()
        let owner = try await api.makeTenant("Owner tenant")
        let other = try await api.makeTenant("Other tenant")
        let ownerKey = try await api.makeKey(role: .admin, in: owner)
        let otherKey = try await api.makeKey(role: .admin, in: other)
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(owner.id)/numbers", as: .bearer(ownerKey),
                json: ["phone": "+61 412 345 678", "kind": "long_code", "label": "Main"])
            #expect(created.status == .created)
            let id = try #require(created.object["id"] as? String)
            let before = try await numberRow(api, id: id)

            let stolen = try await client.call(
                .post, "/tenants/\(other.id)/numbers", as: .bearer(otherKey), json: ["phone": "0412 345 678", "kind": "short_code"])
            #expect(stolen.status == .conflict)
            #expect(stolen.errorCode == "conflict")
            let text = String(buffer: stolen.body)
            #expect(!text.contains(owner.id) && !text.contains("Owner"))

            // Renaming another number to the taken phone is refused the same way.
            let spare = try await client.call(
                .post, "/tenants/\(other.id)/numbers", as: .bearer(otherKey), json: ["phone": "0412 999 000", "kind": "long_code"])
            let spareID = try #require(spare.object["id"] as? String)
            let renamed = try await client.call(
                .patch, "/tenants/\(other.id)/numbers/\(spareID)", as: .bearer(otherKey), json: ["phone": "+61412345678"])
            #expect(renamed.status == .conflict)

            let again = try await client.call(
                .post, "/tenants/\(owner.id)/numbers", as: .bearer(ownerKey), json: ["phone": "0412345678", "kind": "long_code"])
            #expect(again.status == .conflict)
            #expect(try await numberRow(api, id: id) == before)
        }
        await api.shutdown()
    }

    // One database for every case: each case is one request, and clones are the slow part.
    @Test("an invalid warmup schedule is a 422 naming warmup_schedule, and nothing is stored")
    func invalidWarmupSchedule() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        let schedules = [
            "[]", "[0]", "[-5]", "[1.5]", "[1000001]", #"["ten"]"#, "[null]", "[10, true]",
            "[" + Array(repeating: "5", count: 91).joined(separator: ",") + "]",
        ]
        try await api.test { client in
            for schedule in schedules {
                let response = try await client.executeRequest(
                    uri: "/tenants/\(tenant.id)/numbers", method: .post,
                    headers: [.authorization: "Bearer \(admin)", .contentType: "application/json"],
                    body: ByteBuffer(string: #"{"phone": "0412 345 678", "kind": "long_code", "warmup_schedule": \#(schedule)}"#))
                #expect(response.status == .unprocessableContent, "\(schedule)")
                #expect((response.object["error"] as? [String: Any])?["details"] as? [String] == ["warmup_schedule"], "\(schedule)")
            }
        }
        #expect(try await api.services.postgres.query("SELECT 1 FROM sending_numbers").isEmpty)
        await api.shutdown()
    }

    @Test("a warmup schedule starts now unless told otherwise, keeps its start when changed, and null removes it")
    func warmupSchedule() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            let created = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin),
                json: ["phone": "0412 345 678", "kind": "long_code", "warmup_schedule": [50, 100, 250]])
            #expect(created.status == .created)
            #expect(created.object["warmup_schedule"] as? [Int] == [50, 100, 250])
            let started = try #require(created.object["warmup_started_at"] as? String)
            let id = try #require(created.object["id"] as? String)

            let changed = try await client.call(
                .patch, "/tenants/\(tenant.id)/numbers/\(id)", as: .bearer(admin), json: ["warmup_schedule": Array(repeating: 10, count: 90)])
            #expect(changed.status == .ok)
            #expect((changed.object["warmup_schedule"] as? [Int])?.count == 90)
            #expect(changed.object["warmup_started_at"] as? String == started)

            let cleared = try await client.call(.patch, "/tenants/\(tenant.id)/numbers/\(id)", as: .bearer(admin), json: ["warmup_schedule": NSNull()])
            #expect(cleared.object["warmup_schedule"] is NSNull)

            let given = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin),
                json: ["phone": "0412 345 679", "kind": "toll_free", "warmup_schedule": [1], "warmup_started_at": "2024-01-02T03:04:05Z"])
            #expect(given.status == .created)
            #expect((given.object["warmup_started_at"] as? String)?.hasPrefix("2024-01-02T03:04:05") == true)
        }
        await api.shutdown()
    }

    @Test("throughput must be more than 0 and at most 1000 segments per second")
    func throughputBounds() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        let cases: [(Double, Bool)] = [
            (0, false), (-1, false), (0.001, false), (1000.01, false), (5000, false), (0.5, true), (1000, true),
        ]
        try await api.test { client in
            for (n, (throughput, accepted)) in cases.enumerated() {
                let response = try await client.call(
                    .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin),
                    json: ["phone": "0412 345 67\(n)", "kind": "short_code", "throughput_sps": throughput])
                if accepted {
                    #expect(response.status == .created, "\(throughput)")
                    #expect(response.object["throughput_sps"] as? Double == throughput)
                } else {
                    #expect(response.status == .unprocessableContent, "\(throughput)")
                    #expect((response.object["error"] as? [String: Any])?["details"] as? [String] == ["throughput_sps"])
                }
            }
        }
        await api.shutdown()
    }

    @Test("a number that send jobs reference cannot be deleted, but can be deactivated; an unused one deletes, all audited with the phone masked")
    func deleteRefusedWhenReferenced() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let admin = try await api.makeKey(role: .admin, in: tenant)
        try await api.test { client in
            let used = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin), json: ["phone": "0412 345 678", "kind": "long_code"])
            let usedID = try #require(used.object["id"] as? String)
            try await insertJob(api.services.postgres, tenantID: tenant.id, numberID: usedID)

            let refused = try await client.call(.delete, "/tenants/\(tenant.id)/numbers/\(usedID)", as: .bearer(admin))
            #expect(refused.status == .conflict)
            #expect(((refused.object["error"] as? [String: Any])?["message"] as? String)?.contains("active") == true)

            let deactivated = try await client.call(
                .patch, "/tenants/\(tenant.id)/numbers/\(usedID)", as: .bearer(admin), json: ["active": false, "label": "retired"])
            #expect(deactivated.status == .ok)
            #expect(deactivated.object["active"] as? Bool == false)
            #expect(deactivated.object["label"] as? String == "retired")
            let activeOnly = try await client.call(.get, "/tenants/\(tenant.id)/numbers?active=true", as: .bearer(admin))
            #expect((activeOnly.object["items"] as? [Any])?.count == 0)

            let unused = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(admin), json: ["phone": "0412 345 679", "kind": "long_code"])
            let unusedID = try #require(unused.object["id"] as? String)
            #expect(try await client.call(.delete, "/tenants/\(tenant.id)/numbers/\(unusedID)", as: .bearer(admin)).status == .noContent)
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/numbers/\(unusedID)", as: .bearer(admin)).status == .notFound)
            let listing = try await client.call(.get, "/tenants/\(tenant.id)/numbers", as: .bearer(admin))
            #expect((listing.object["items"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == [usedID])
        }
        let audits = try await api.services.postgres.query(
            "SELECT action, details::text FROM audit_log WHERE tenant_id = $1::uuid AND action LIKE 'number.%' ORDER BY id", tenant.id)
        #expect(try audits.map { try $0.decode("action", as: String.self) } == ["number.create", "number.update", "number.create", "number.delete"])
        for row in audits {
            let details = try row.decode("details", as: PostgresJSON.self).decode(as: [String: String].self)
            #expect(details["phone"]?.hasPrefix("+614") == true)
            #expect(details["phone"]?.contains("*") == true)
            let text = try row.decode("details", as: String.self)
            #expect(!text.contains("412345678"))
        }
        await api.shutdown()
    }

    @Test("viewers read numbers but only admins change them")
    func rolesForNumbers() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let viewer = try await api.makeKey(role: .viewer, in: tenant)
        let member = try await api.makeKey(role: .member, in: tenant)
        try await api.test { client in
            #expect(try await client.call(.get, "/tenants/\(tenant.id)/numbers", as: .bearer(viewer)).status == .ok)
            let refused = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(member), json: ["phone": "0412 345 678", "kind": "long_code"])
            #expect(refused.status == .forbidden)
            let missingKind = try await client.call(
                .post, "/tenants/\(tenant.id)/numbers", as: .bearer(try await api.makeKey(role: .admin, in: tenant)),
                json: ["phone": "0412 345 678"])
            #expect(missingKind.status == .unprocessableContent)
            #expect((missingKind.object["error"] as? [String: Any])?["details"] as? [String] == ["kind"])
        }
        await api.shutdown()
    }
}

/// The stored row as JSON, to show it did not change.
private func numberRow(_ api: APIHarness, id: String) async throws -> String {
    try await api.services.postgres.query("SELECT row_to_json(n)::text AS row FROM sending_numbers n WHERE id = $1::uuid", id)[0]
        .decode("row", as: String.self)
}

/// One job sent from `numberID`, as launch would write it (columns as in `seedJobs`).
private func insertJob(_ postgres: PostgresClient, tenantID: String, numberID: String) async throws {
    try await postgres.withTransaction { connection in
        let campaign = try connection.query(
            "INSERT INTO campaigns (tenant_id, name, body_template) VALUES ($1::uuid, 'c', 'hi') RETURNING id::text", tenantID
        )[0].decode("id", as: String.self)
        try connection.query(
            """
            INSERT INTO send_jobs (tenant_id, campaign_id, contact_id, sending_number_id, to_phone, from_phone, body, encoding, segments, status)
            VALUES ($1::uuid, $2::uuid, gen_random_uuid(), $3::uuid, '+61412000999', '+61412345678', 'hi', 'gsm7', 1, 'delivered')
            """, tenantID, campaign, numberID)
    }
}
