import Foundation
import Hummingbird
import Logging
import SMSCore

/// Builds the API application: routes plus the services it must keep running
/// (the PostgreSQL and Redis pools), shut down after the HTTP server on SIGTERM.
public func buildApplication(services: AppServices) -> some ApplicationProtocol {
    let router = buildRouter(services: services)
    return Application(
        router: router,
        configuration: .init(address: .hostname("0.0.0.0", port: services.configuration.port), serverName: "smscrm-api"),
        services: [services.postgres, services.redis],
        logger: services.logger)
}

/// The API's routes; tests build it too.
public func buildRouter(services: AppServices) -> Router<BasicRequestContext> {
    let router = Router()
    HealthController(dependencies: services.dependencyCheck).addRoutes(to: router)
    return router
}
