import Logging
import SMSAPI
import SMSCore

let configuration = ProcessStartup.configuration(for: .api)
let logger = Logger(label: "smscrm.api")
let services = AppServices(configuration: configuration, applicationName: "smscrm-api", logger: logger)
await ProcessStartup.run("smscrm-api", logger: logger) { try await buildApplication(services: services).runService() }
