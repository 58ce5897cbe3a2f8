import Curl
import Foundation
import Hummingbird
import Logging
import SMSCore
import ServiceLifecycle

/// Builds the worker: the shared clients, the send consumers, the periodic
/// duties and the health server, run in one `ServiceGroup` so SIGTERM drains
/// cleanly: consumers stop popping and finish the job in hand (each send is
/// bounded by the Twilio timeout, the whole drain by
/// `WORKER_SHUTDOWN_TIMEOUT_SECONDS`), then the pools close.
public func buildWorker(services: AppServices) -> ServiceGroup {
    let configuration = services.configuration
    var queue = SendQueue(redis: services.redis)
    queue.lease = configuration.sendLease
    let http = CurlHTTPClient(configuration: .init(maxConcurrentRequests: max(4, configuration.workerConcurrency)))
    let twilio = TwilioClient(
        configuration: .init(
            accountSID: configuration.twilioAccountSID, authToken: configuration.twilioAuthToken, apiBase: configuration.twilioAPIBase,
            timeout: configuration.twilioTimeout),
        http: http)
    let workerID = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    let errorPolicy = ProviderErrorPolicy(carrierFailuresBeforeSuppression: configuration.suppressAfterCarrierFailures)
    var processorConfiguration = SendProcessor.Configuration(workerID: workerID, publicBaseURL: configuration.publicBaseURL)
    processorConfiguration.errorPolicy = errorPolicy
    let processor = SendProcessor(
        configuration: processorConfiguration, postgres: services.postgres, redis: services.redis, queue: queue, provider: twilio,
        logger: services.logger)
    var recoveryConfiguration = SendRecovery.Configuration(workerID: workerID, reconcileAfter: configuration.reconcileAfter)
    recoveryConfiguration.statusReconcileAfter = configuration.statusReconcileAfter
    let recovery = SendRecovery(
        configuration: recoveryConfiguration, postgres: services.postgres, queue: queue, provider: twilio, errorPolicy: errorPolicy,
        logger: services.logger)
    let activity = WorkerActivity()
    Telemetry.bootstrap()
    let webhooks = TwilioWebhooks(
        configuration: .init(carrierFailuresBeforeSuppression: configuration.suppressAfterCarrierFailures),
        postgres: services.postgres, queue: queue, logger: services.logger)
    let health = buildHealthServer(services: services, queue: queue, activity: activity)
    var groupConfiguration = ServiceGroupConfiguration(
        services: [
            .init(service: services.postgres),
            .init(service: services.redis),
            .init(service: health),
            .init(service: WorkerHeartbeat(killSwitch: KillSwitch(redis: services.redis), workerID: workerID, logger: services.logger)),
            .init(
                service: PipelineDuties(
                    queue: queue, recovery: recovery, launcher: CampaignLauncher(postgres: services.postgres, queue: queue),
                    campaigns: CampaignStore(postgres: services.postgres),
                    webhooks: webhooks,
                    retention: Retention(
                        postgres: services.postgres, webhookDays: configuration.webhookRetentionDays, auditDays: configuration.auditRetentionDays),
                    logger: services.logger)),
            .init(service: MetricsSampler(services: services, queue: queue, webhooks: webhooks, interval: .seconds(5), logger: services.logger)),
            .init(
                service: SendConsumers(
                    processor: processor, queue: queue, concurrency: configuration.workerConcurrency, activity: activity,
                    logger: services.logger)),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: services.logger)
    groupConfiguration.maximumGracefulShutdownDuration = configuration.shutdownTimeout
    return ServiceGroup(configuration: groupConfiguration)
}

/// `GET /health` on the worker: the process is up, whether PostgreSQL and
/// Redis answer, the queue's depths and when this worker last finished a job.
func buildHealthServer(services: AppServices, queue: SendQueue, activity: WorkerActivity) -> some ApplicationProtocol {
    let router = Router()
    let check = services.dependencyCheck
    let started = Date()
    router.get("health") { _, _ -> WorkerHealth in
        let report = await check.run()
        let depth = try? await queue.depth()
        return WorkerHealth(
            status: "healthy",
            timestamp: Date().formatted(.iso8601),
            startedAt: started.formatted(.iso8601),
            postgres: report.postgres ?? "ok",
            redis: report.redis ?? "ok",
            queue: depth.map { WorkerHealth.Depth(queued: $0.queued, active: $0.active, delayed: $0.delayed, dead: $0.dead) },
            lastJobAt: activity.lastJobAt?.formatted(.iso8601))
    }
    router.get("metrics") { _, _ -> Response in
        var headers = HTTPFields()
        headers[.contentType] = Telemetry.contentType
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: Telemetry.render())))
    }
    return Application(
        router: router,
        configuration: .init(
            address: .hostname(services.configuration.workerHealthHost, port: services.configuration.workerHealthPort), serverName: "smscrm-worker"),
        logger: services.logger)
}

struct WorkerHealth: ResponseEncodable {
    let status: String
    let timestamp: String
    let startedAt: String
    let postgres: String
    let redis: String
    /// Nil when Redis does not answer.
    let queue: Depth?
    /// When this process last finished a job; nil before the first.
    let lastJobAt: String?

    enum CodingKeys: String, CodingKey {
        case status, timestamp, postgres, redis, queue
        case startedAt = "started_at"
        case lastJobAt = "last_job_at"
    }

    struct Depth: Encodable {
        let queued: Int
        let active: Int
        let delayed: Int
        let dead: Int
    }
}
