import Foundation
import Hummingbird
import SMSCore

/// `GET /health` (the process is up; checks nothing) and `GET /ready`
/// (PostgreSQL and Redis answer; 503 naming the one that does not).
struct HealthController: Sendable {
    let dependencies: DependencyCheck

    struct Health: ResponseEncodable {
        let status: String
        let timestamp: String
    }

    struct Readiness: Encodable {
        let status: String
        let checks: [String: String]
        let error: APIErrorBody.Payload?
    }

    func addRoutes(to router: Router<some RequestContext>) {
        router.get("health") { _, _ in
            Health(status: "healthy", timestamp: Date().formatted(.iso8601))
        }
        router.get("ready") { request, context in
            let report = await dependencies.run()
            let readiness = Readiness(
                status: report.isReady ? "ready" : "unavailable",
                checks: ["postgres": report.postgres ?? "ok", "redis": report.redis ?? "ok"],
                error: report.isReady
                    ? nil
                    : .init(
                        code: "not_ready",
                        message: "\(report.failing.joined(separator: " and ")) \(report.failing.count == 1 ? "is" : "are") not reachable",
                        details: report.failing))
            return try JSONResponse(status: report.isReady ? .ok : .serviceUnavailable, body: readiness)
        }
    }
}
