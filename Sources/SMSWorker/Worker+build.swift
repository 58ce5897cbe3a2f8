import Curl
import Foundation
import Hummingbird
import Logging
import SMSCore
import ServiceLifecycle

/// Builds the worker: the shared clients, the send consumers, the queue's
/// periodic duties and the health server, run in one `ServiceGroup` so SIGTERM
/// drains cleanly (services stop in reverse order: consumers first, pools last).
///
/// Not built yet: settling `unknown` jobs by lookup, reconciling stuck
/// `sending` rows, the lost-job sweep and scheduled launches.
public func buildWorker(services: AppServices) -> ServiceGroup {
    let configuration = services.configuration
    let health = buildHealthServer(services: services)
    let queue = SendQueue(redis: services.redis)
    let http = CurlHTTPClient(configuration: .init(maxConcurrentRequests: max(4, configuration.workerConcurrency)))
    let twilio = TwilioClient(
        configuration: .init(
            accountSID: configuration.twilioAccountSID, authToken: configuration.twilioAuthToken, apiBase: configuration.twilioAPIBase),
        http: http)
    let processor = SendProcessor(
        configuration: .init(workerID: "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)", publicBaseURL: configuration.publicBaseURL),
        postgres: services.postgres, redis: services.redis, queue: queue, twilio: twilio, logger: services.logger)
    return ServiceGroup(
        configuration: .init(
            services: [
                .init(service: services.postgres),
                .init(service: services.redis),
                .init(service: health),
                .init(service: QueueDuties(queue: queue, interval: .seconds(1), logger: services.logger)),
                .init(
                    service: SendConsumers(
                        processor: processor, queue: queue, concurrency: configuration.workerConcurrency, logger: services.logger)),
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
