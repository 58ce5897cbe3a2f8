import Curl
import Foundation
import Hummingbird
import Logging
import SMSCore
import SMSWeb

/// Builds the API application: routes plus the services it must keep running
/// (the PostgreSQL and Redis pools), shut down after the HTTP server on SIGTERM.
/// `web`: the admin UI's files (``WebFiles/load(directory:)``), or nil to serve the API alone.
public func buildApplication(services: AppServices, web: WebFiles? = nil) -> some ApplicationProtocol {
    let router = buildRouter(services: services, web: web)
    return Application(
        router: router,
        configuration: .init(address: .hostname(services.configuration.apiHost, port: services.configuration.port), serverName: "smscrm-api"),
        // After the pools: a graceful shutdown stops the import processor first (it
        // commits its chunk and gives its lease up), then closes the pools.
        services: [
            services.postgres, services.redis, ImportProcessor(postgres: services.postgres, logger: services.logger),
            DependencySampler(services: services, interval: .seconds(10)),
        ],
        logger: services.logger)
}

/// The API's routes, and the admin UI's under `/ui`, `/assets` and `/` when `web` is given; tests build it too.
public func buildRouter(services: AppServices, web: WebFiles? = nil) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    let identity = IdentityStore(postgres: services.postgres, policy: services.sessionPolicy)
    let tenants = TenantStore(postgres: services.postgres)
    // Middleware must be added before routes; the error middleware comes first
    // so it also shapes the errors of the authentication middleware.
    Telemetry.bootstrap()
    let configuration = services.configuration
    router.add(middleware: ObservabilityMiddleware())
    router.add(middleware: SecurityHeadersMiddleware(publicBaseURL: configuration.publicBaseURL, allowedOrigins: configuration.corsAllowedOrigins))
    let routeTable = RouteTable()
    router.add(middleware: RequestIDAndErrorMiddleware(routes: routeTable))
    router.add(
        middleware: AuthenticationMiddleware(
            identity: identity, publicBaseURL: configuration.publicBaseURL, allowedOrigins: configuration.corsAllowedOrigins))
    router.add(
        middleware: RateLimitMiddleware(
            redis: services.redis, perKey: configuration.rateLimitPerKey, perIP: configuration.rateLimitPerIP, logger: services.logger))

    HealthController(dependencies: services.dependencyCheck).addRoutes(to: router)
    AuthController(
        identity: identity, tenants: tenants, throttle: LoginThrottle(redis: services.redis),
        secureCookies: services.configuration.publicBaseURL.lowercased().hasPrefix("https://")
    ).addRoutes(to: router)
    let sendControl = SendControl(
        postgres: services.postgres, redis: services.redis, configuration: services.configuration, logger: services.logger)
    TenantController(tenants: tenants, sendControl: sendControl, insights: CampaignInsights(postgres: services.postgres))
        .addRoutes(to: router)
    APIKeyController(identity: identity).addRoutes(to: router)
    AuditController(postgres: services.postgres).addRoutes(to: router)
    MemberController(members: MemberStore(postgres: services.postgres)).addRoutes(to: router)
    let queue = SendQueue(redis: services.redis)
    let jobs = SendJobs(postgres: services.postgres, queue: queue)
    ContactController(contacts: ContactStore(postgres: services.postgres), tenants: tenants, jobs: jobs).addRoutes(to: router)
    DoNotContactController(entries: DoNotContactStore(postgres: services.postgres, queue: queue), tenants: tenants).addRoutes(to: router)
    ImportController(imports: ImportStore(postgres: services.postgres)).addRoutes(to: router)
    CampaignController(
        campaigns: CampaignStore(postgres: services.postgres), insights: CampaignInsights(postgres: services.postgres),
        tenants: tenants, sendControl: sendControl,
        launcher: {
            var launcher = CampaignLauncher(postgres: services.postgres, queue: queue)
            launcher.logger = services.logger
            return launcher
        }()
    ).addRoutes(to: router)
    ListController(lists: ContactListStore(postgres: services.postgres), contacts: ContactStore(postgres: services.postgres))
        .addRoutes(to: router)
    SendingNumberController(numbers: SendingNumberStore(postgres: services.postgres), tenants: tenants).addRoutes(to: router)
    WebhookController(
        webhooks: TwilioWebhooks(
            configuration: .init(carrierFailuresBeforeSuppression: services.configuration.suppressAfterCarrierFailures),
            postgres: services.postgres, queue: queue, logger: services.logger), redis: services.redis,
        provider: TwilioClient(
            configuration: .init(
                accountSID: services.configuration.twilioAccountSID, authToken: services.configuration.twilioAuthToken,
                apiBase: services.configuration.twilioAPIBase, timeout: services.configuration.twilioTimeout),
            http: CurlHTTPClient(configuration: .init(maxConcurrentRequests: 2))),
        publicBaseURL: services.configuration.publicBaseURL, logger: services.logger
    ).addRoutes(to: router)
    InboxController(postgres: services.postgres).addRoutes(to: router)
    MessageController(
        log: MessageLog(postgres: services.postgres), contacts: ContactStore(postgres: services.postgres),
        doNotContact: DoNotContactStore(postgres: services.postgres, queue: queue), tenants: tenants, postgres: services.postgres
    ).addRoutes(to: router)
    OperationsController(
        postgres: services.postgres, queue: queue,
        control: sendControl,
        deadLetters: DeadLetters(postgres: services.postgres, queue: queue)
    ).addRoutes(to: router)
    if let web { WebUI(files: web, services: services, sendControl: sendControl).addRoutes(to: router) }
    routeTable.load(router.routes.map { ($0.method, $0.path.description) })
    return router
}
