import Foundation
import SMSCore
import Testing

@Suite("Tenant countries")
struct TenantCountryTests {
    @Test("a default country libphonenumber does not know (ZZ, XX) is refused, and a real one is stored upper-case")
    func unknownCountryIsRefused() async throws {
        let api = try await APIHarness.make()
        let tenant = try await api.makeTenant()
        let key = try await api.makeKey(role: .owner, in: tenant)
        try await api.test { client in
            for code in ["ZZ", "XX", "A1", "usa"] {
                let response = try await client.call(.patch, "/tenants/\(tenant.id)", as: .bearer(key), json: ["default_country": code])
                #expect(response.status == .unprocessableContent, "\(code)")
                #expect(response.errorDetails == ["default_country"], "\(code)")
            }
            let nz = try await client.call(.patch, "/tenants/\(tenant.id)", as: .bearer(key), json: ["default_country": "nz"])
            #expect(nz.object["default_country"] as? String == "NZ")
        }
        await api.shutdown()
    }
}
