import Foundation
import TwilioSandbox

let environment = ProcessInfo.processInfo.environment
let sandbox = TwilioSandbox(
    configuration: .init(
        accountSID: environment["TWILIO_ACCOUNT_SID"] ?? "AC00000000000000000000000000000000",
        authToken: environment["TWILIO_AUTH_TOKEN"] ?? "devtoken",
        host: environment["SANDBOX_HOST"] ?? "127.0.0.1",
        port: Int(environment["SANDBOX_PORT"] ?? "") ?? 3003))
try await sandbox.buildApplication().runService()
