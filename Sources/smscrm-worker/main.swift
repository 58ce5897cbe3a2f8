import Logging
import SMSCore
import SMSWorker

let configuration = ProcessStartup.configuration(for: .worker)
let logger = Logger(label: "smscrm.worker")
let services = AppServices(configuration: configuration, applicationName: "smscrm-worker", logger: logger)
await ProcessStartup.run("smscrm-worker", logger: logger) { try await buildWorker(services: services).run() }
