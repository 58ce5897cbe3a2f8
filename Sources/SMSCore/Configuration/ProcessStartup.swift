import Foundation

/// What every executable does first: read the environment, or exit 78
/// (EX_CONFIG) naming every bad variable; then bootstrap logging.
public enum ProcessStartup {
    public static func configuration(for role: AppConfiguration.Role) -> AppConfiguration {
        do {
            let configuration = try AppConfiguration.load(for: role)
            LoggingSetup.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
            return configuration
        } catch {
            FileHandle.standardError.write(Data("smscrm: \(error.description)\n".utf8))
            exit(78)
        }
    }
}
