import Foundation
import SMSAPI
import Testing
import TestSupport

/// docs/openapi.yaml and the router must list the same routes.
@Suite("OpenAPI")
struct OpenAPIRoutesTests {
    /// `METHOD /path/{param}` for every operation in the spec. The spec keeps
    /// paths at two spaces of indent and methods at four (see its header).
    static func specRoutes() throws -> Set<String> {
        let text = try String(contentsOfFile: TestEnvironment.packageRoot + "/docs/openapi.yaml", encoding: .utf8)
        var routes: Set<String> = []
        var inPaths = false
        var currentPath: String?
        let methods: Set<String> = ["get", "post", "put", "patch", "delete", "head", "options"]
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty {
                inPaths = line.hasPrefix("paths:")
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   ") {
                currentPath = String(line.dropFirst(2).dropLast(line.hasSuffix(":") ? 1 : 0))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path = currentPath {
                let key = line.trimmingCharacters(in: .whitespaces).dropLast()
                if methods.contains(String(key)) { routes.insert("\(key.uppercased()) \(path)") }
            }
        }
        return routes
    }

    @Test("every route of the router is in docs/openapi.yaml and the spec has no route the router lacks")
    func specMatchesRouter() async throws {
        let api = try await APIHarness.make()
        let router = buildRouter(services: api.services, web: try await APIHarness.webFiles())
        // The admin UI's routes (/, /ui…, /assets…) answer HTML and files, not JSON:
        // docs/openapi.yaml describes the JSON API only.
        let apiRoutes = router.routes.filter { route in
            let path = "/" + route.path.description.split(separator: "/").joined(separator: "/")
            return path != "/" && !path.hasPrefix("/ui") && !path.hasPrefix("/assets")
        }
        let routerRoutes = Set(
            apiRoutes.map { route in
                let path = route.path.description.split(separator: "/").map { part in
                    part.hasPrefix(":") ? "{\(part.dropFirst())}" : String(part)
                }.joined(separator: "/")
                return "\(route.method) /\(path)"
            })
        let spec = try Self.specRoutes()

        #expect(routerRoutes.subtracting(spec).sorted() == [], "routes missing from docs/openapi.yaml")
        #expect(spec.subtracting(routerRoutes).sorted() == [], "routes in docs/openapi.yaml that the router lacks")
        await api.shutdown()
    }
}
