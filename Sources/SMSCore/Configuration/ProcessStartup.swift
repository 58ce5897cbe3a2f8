import Foundation
import Logging
import ServiceLifecycle

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

    /// Runs the process's services, and exits 0 when they stop cleanly. An
    /// error that stops them (a port already taken, a dependency refusing at
    /// start) is logged and printed as one line and exits 1, not as a crash
    /// report of an error thrown at top level.
    public static func run(_ program: String, logger: Logger, _ services: () async throws -> Void) async -> Never {
        do {
            let start = ContinuousClock.now
            try await services()
            // Reached after a signal's graceful shutdown: every service has drained.
            logger.notice("stopped", metadata: ["program": "\(program)", "uptime": "\(ContinuousClock.now - start)"])
            exit(0)
        } catch {
            logger.critical("stopped by an error", metadata: ["error": "\(error)"])
            FileHandle.standardError.write(Data("\(program): \(error)\n".utf8))
            exit(1)
        }
    }
}

/// Sleeps for `duration`, or less when the process starts a graceful
/// shutdown: a service loop that sleeps this way lets SIGTERM stop an idle
/// process at once (issue 12: an idle API took 7-10 s, one sampler's sleep).
public func sleepUnlessShuttingDown(for duration: Duration) async {
    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
}
