import Foundation
import Hummingbird
import SMSCore

/// `GET /health` (the process is up; checks nothing) and `GET /ready`
/// (PostgreSQL and Redis answer; 503 naming the one that does not).
struct HealthController: Sendable {
    let dependencies: DependencyCheck

    struct Health: Encodable {
        let status: String
        let timestamp: String
    }

    struct Readiness: Encodable {
        struct Problem: Encodable {
            let code: String
            let message: String
            let details: [String]
        }
        let status: String
        let checks: [String: String]
        let error: Problem?
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("health") { _, _ in
            JSONResponse(status: .ok, body: Health(status: "healthy", timestamp: Date().formatted(.iso8601)))
        }
        // Prometheus text format; keep it off the public internet (the proxy should not route it).
        router.get("metrics") { _, _ -> Response in
            var headers = HTTPFields()
            headers[.contentType] = Telemetry.contentType
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Telemetry.render())))
        }
        router.get("ready") { _, _ in
            let report = await dependencies.run()
            Telemetry.dependencies(report)
            let failing = report.failing
            let readiness = Readiness(
                status: report.isReady ? "ready" : "unavailable",
                checks: ["postgres": report.postgres ?? "ok", "redis": report.redis ?? "ok"],
                error: report.isReady
                    ? nil
                    : .init(
                        code: "not_ready",
                        message: "\(failing.joined(separator: " and ")) \(failing.count == 1 ? "is" : "are") not reachable",
                        details: failing))
            return JSONResponse(status: report.isReady ? .ok : .serviceUnavailable, body: readiness)
        }
    }
}
