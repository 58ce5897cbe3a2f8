import Foundation
import TwilioSandbox

// Configuration is checked first: every bad SANDBOX_* variable is named at once, exit 78 (EX_CONFIG).
let environment = ProcessInfo.processInfo.environment
let configuration: TwilioSandbox.Configuration
do {
    configuration = try TwilioSandbox.Configuration(environment: environment)
} catch {
    FileHandle.standardError.write(Data("twilio-sandbox: \(error.description)\n".utf8))
    exit(78)
}
TwilioSandbox.bootstrapLogging(environment: environment)
try await TwilioSandbox(configuration: configuration).buildApplication().runService()
