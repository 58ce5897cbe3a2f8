import Logging
import SMSAPI
import SMSCore
import SMSWeb

let configuration = ProcessStartup.configuration(for: .api)
let logger = Logger(label: "smscrm.api")
let services = AppServices(configuration: configuration, applicationName: "smscrm-api", logger: logger)
await ProcessStartup.run("smscrm-api", logger: logger) {
    // A missing or altered UI file stops start-up here, with the command that fixes it.
    let web = configuration.webUIEnabled ? try await WebFiles.load(directory: configuration.webDirectory) : nil
    try await buildApplication(services: services, web: web).runService()
}
