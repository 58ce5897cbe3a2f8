import Foundation
import Hummingbird
import Logging
import SMSCore
import ServiceLifecycle

/// Builds the worker: its health server and the shared clients, run in one
/// `ServiceGroup` so SIGTERM drains cleanly.
///
/// The send pipeline (consumers, periodic duties) is not built yet; until it
/// is, the worker only serves `/health` on `WORKER_HEALTH_PORT`.
public func buildWorker(services: AppServices) -> ServiceGroup {
    let health = buildHealthServer(services: services)
    return ServiceGroup(
        configuration: .init(
            services: [
                .init(service: services.postgres),
                .init(service: services.redis),
                .init(service: health),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: services.logger))
}

/// `GET /health` on the worker: the process is up, and whether PostgreSQL and Redis answer.
func buildHealthServer(services: AppServices) -> some ApplicationProtocol {
    let router = Router()
    let check = services.dependencyCheck
    let started = Date()
    router.get("health") { _, _ -> WorkerHealth in
        let report = await check.run()
        return WorkerHealth(
            status: "healthy",
            timestamp: Date().formatted(.iso8601),
            startedAt: started.formatted(.iso8601),
            postgres: report.postgres ?? "ok",
            redis: report.redis ?? "ok")
    }
    return Application(
        router: router,
        configuration: .init(
            address: .hostname("0.0.0.0", port: services.configuration.workerHealthPort), serverName: "smscrm-worker"),
        logger: services.logger)
}

struct WorkerHealth: ResponseEncodable {
    let status: String
    let timestamp: String
    let startedAt: String
    let postgres: String
    let redis: String
}
