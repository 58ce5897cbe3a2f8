import Foundation
import Logging
import Redis

/// Everything the processes read from the environment, checked once at start-up.
///
/// Every problem is collected before failing, so an operator fixes the whole
/// environment in one pass instead of one variable per restart.
public struct AppConfiguration: Sendable {
    /// Which process is starting: each needs a different set of variables.
    public enum Role: Sendable {
        case api, worker, cli
    }

    public enum LogFormat: String, Sendable { case json, text }

    /// `DATABASE_URL`: PostgreSQL, URI or key=value form.
    public var databaseURL: String
    /// `REDIS_URL`: `redis://[:password@]host:port[/db]`.
    public var redis: RedisConfiguration
    /// `PORT`: the API's port. Default 3000.
    public var port: Int
    /// `WORKER_HEALTH_PORT`: the worker's health and metrics port. Default 3002.
    public var workerHealthPort: Int
    /// `API_HOST`: the address the API listens on. Default 0.0.0.0 (every interface, as in a
    /// container); the dev stack and the tests use 127.0.0.1.
    public var apiHost = "0.0.0.0"
    /// `WORKER_HEALTH_HOST`: the address the worker's health and metrics server listens on. Default 0.0.0.0.
    public var workerHealthHost = "0.0.0.0"
    /// `PUBLIC_BASE_URL`: how Twilio reaches the API (webhook URLs and signatures), without a trailing slash.
    public var publicBaseURL: String
    /// `TWILIO_ACCOUNT_SID`: `AC` followed by 32 hex digits.
    public var twilioAccountSID: String
    /// `TWILIO_AUTH_TOKEN`: a secret; never logged.
    public var twilioAuthToken: String
    /// `TWILIO_API_BASE`: Twilio's REST base URL, or the sandbox's. Default https://api.twilio.com.
    public var twilioAPIBase: String
    /// `WORKER_CONCURRENCY`: send consumers per worker process. Default 4.
    public var workerConcurrency: Int
    /// `LOG_LEVEL`: swift-log level. Default info.
    public var logLevel: Logger.Level
    /// `LOG_FORMAT`: json (default) or text.
    public var logFormat: LogFormat
    /// `DATABASE_POOL_SIZE`: PostgreSQL connections per process, at least 2 (a launch holds two). Default 10.
    public var databasePoolSize: Int
    /// `REDIS_POOL_SIZE`: Redis connections per process. Default 10.
    public var redisPoolSize: Int
    /// `MIGRATIONS_DIR`: where `smscrm migrate` finds its files. Default ./migrations.
    public var migrationsDirectory: String
    /// `WEB_DIR`: the admin UI's templates, own files and locked third-party assets. Default ./web.
    public var webDirectory = "./web"
    /// `WEB_UI`: serve the admin UI under /ui (`on`, the default) or not (`off`).
    public var webUIEnabled = true
    /// `TWILIO_TIMEOUT_SECONDS`: a send with no answer by then is `unknown`. Default 15.
    public var twilioTimeout: Duration = .seconds(15)
    /// `SEND_LEASE_SECONDS`: how long a consumer may hold a popped job before the reaper hands it out again. Default 60.
    public var sendLease: Duration = .seconds(60)
    /// `SEND_RECONCILE_AFTER_SECONDS`: how long a job may sit in `sending` or `unknown` before the worker
    /// reconciles it (looks the message up at Twilio). Never less than the Twilio timeout plus 5 s. Default 120.
    public var reconcileAfter: Duration = .seconds(120)
    /// `SEND_STATUS_RECONCILE_AFTER_SECONDS`: how long a `sent` job may wait for its final status report
    /// before the worker looks the message up at the provider (and again after each such interval). Default 900.
    public var statusReconcileAfter: Duration = .seconds(900)
    /// `WORKER_SHUTDOWN_TIMEOUT_SECONDS`: how long SIGTERM waits for in-flight sends. Default 30.
    public var shutdownTimeout: Duration = .seconds(30)
    /// `SUPPRESS_AFTER_CARRIER_FAILURES`: how many 30003/30005/30006 failures to one number put it on
    /// do-not-contact. Default 3.
    public var suppressAfterCarrierFailures = 3
    /// `RATE_LIMIT_PER_MINUTE_KEY`: requests one API key may make per minute. Default 600; 0 turns it off.
    public var rateLimitPerKey = 600
    /// `RATE_LIMIT_PER_MINUTE_IP`: requests per minute from one IP without an API key or session
    /// (logins, anonymous), and per logged-in user for session traffic. Default 300; 0 turns it off.
    public var rateLimitPerIP = 300
    /// `CORS_ALLOWED_ORIGINS`: comma-separated origins (`https://app.example.com`) allowed to call the
    /// API from a browser. Empty (the default): CORS is off.
    public var corsAllowedOrigins: [String] = []
    /// `WEBHOOK_RETENTION_DAYS`: processed webhook events older than this are purged. Default 30.
    public var webhookRetentionDays = 30
    /// `AUDIT_RETENTION_DAYS`: audit entries older than this are purged. Default 365.
    public var auditRetentionDays = 365

    /// Reads and validates the environment for `role`.
    /// - Throws: ``ConfigurationError`` listing every missing or malformed variable.
    public static func load(
        from environment: [String: String] = ProcessInfo.processInfo.environment, for role: Role
    ) throws(ConfigurationError) -> AppConfiguration {
        var reader = EnvironmentReader(environment: environment)
        let needsTwilio = role != .cli

        let databaseURL = reader.required("DATABASE_URL", hint: "PostgreSQL URL, e.g. postgres://user@127.0.0.1:5432/smscrm") { value in
            value.hasPrefix("postgres://") || value.hasPrefix("postgresql://") || value.contains("=")
                ? value : nil
        }
        let redisPoolSize = reader.optional("REDIS_POOL_SIZE", default: 10, parse: positiveInt(max: 1000))
        var redis: RedisConfiguration?
        if role != .cli {
            redis = reader.required("REDIS_URL", hint: "Redis URL, e.g. redis://127.0.0.1:6379/0") { value in
                try? RedisConfiguration(url: value)
            }
        }
        let port = reader.optional("PORT", default: 3000, parse: portNumber)
        let workerHealthPort = reader.optional("WORKER_HEALTH_PORT", default: 3002, parse: portNumber)
        let publicBaseURL: String? =
            needsTwilio
            ? reader.required("PUBLIC_BASE_URL", hint: "the URL Twilio uses to reach the API, e.g. https://sms.example.com", parse: httpURL)
            : reader.optional("PUBLIC_BASE_URL", default: "http://localhost:3000", parse: httpURL)
        let sid: String? =
            needsTwilio
            ? reader.required("TWILIO_ACCOUNT_SID", hint: "AC followed by 32 hex digits", parse: accountSID)
            : reader.optional("TWILIO_ACCOUNT_SID", default: "", parse: accountSID)
        let token: String? =
            needsTwilio
            ? reader.required("TWILIO_AUTH_TOKEN", hint: "the account's auth token", secret: true) { $0 }
            : reader.optional("TWILIO_AUTH_TOKEN", default: "", secret: true) { $0 }
        let apiBase = reader.optional("TWILIO_API_BASE", default: "https://api.twilio.com", parse: httpURL)
        let concurrency = reader.optional("WORKER_CONCURRENCY", default: 4, parse: positiveInt(max: 1000))
        let level = reader.optional("LOG_LEVEL", default: Logger.Level.info) { Logger.Level(rawValue: $0.lowercased()) }
        let format = reader.optional("LOG_FORMAT", default: LogFormat.json) { LogFormat(rawValue: $0.lowercased()) }
        let databasePoolSize = reader.optional(
            "DATABASE_POOL_SIZE", default: 10, hint: "a whole number from 2 to 1000: a campaign launch holds two connections",
            parse: wholeNumber(in: 2...1000))
        let migrations = reader.optional("MIGRATIONS_DIR", default: "./migrations") { $0.isEmpty ? nil : $0 }
        let webDirectory = reader.optional("WEB_DIR", default: "./web") { $0.isEmpty ? nil : $0 }
        let webUI = reader.optional("WEB_UI", default: true, hint: "on or off") { value -> Bool? in
            switch value.lowercased() {
            case "on", "true", "1", "yes": true
            case "off", "false", "0", "no": false
            default: nil
            }
        }
        let twilioTimeout = reader.optional("TWILIO_TIMEOUT_SECONDS", default: 15, parse: positiveInt(max: 120))
        let lease = reader.optional("SEND_LEASE_SECONDS", default: 60, parse: positiveInt(max: 3_600))
        let reconcileAfter = reader.optional("SEND_RECONCILE_AFTER_SECONDS", default: 120, parse: positiveInt(max: 86_400))
        let apiHost = reader.optional("API_HOST", default: "0.0.0.0", hint: "an IP address or host name such as 127.0.0.1", parse: listenHost)
        let workerHealthHost = reader.optional(
            "WORKER_HEALTH_HOST", default: "0.0.0.0", hint: "an IP address or host name such as 127.0.0.1", parse: listenHost)
        let statusReconcileAfter = reader.optional("SEND_STATUS_RECONCILE_AFTER_SECONDS", default: 900, parse: positiveInt(max: 604_800))
        let shutdownTimeout = reader.optional("WORKER_SHUTDOWN_TIMEOUT_SECONDS", default: 30, parse: positiveInt(max: 3_600))
        let suppressAfter = reader.optional("SUPPRESS_AFTER_CARRIER_FAILURES", default: 3, parse: positiveInt(max: 100))
        let perKey = reader.optional("RATE_LIMIT_PER_MINUTE_KEY", default: 600) { Int($0).flatMap { (0...1_000_000).contains($0) ? $0 : nil } }
        let perIP = reader.optional("RATE_LIMIT_PER_MINUTE_IP", default: 300) { Int($0).flatMap { (0...1_000_000).contains($0) ? $0 : nil } }
        let cors: [String]? = reader.optional("CORS_ALLOWED_ORIGINS", default: []) { text in
            let origins = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let valid = origins.allSatisfy { ($0.hasPrefix("https://") || $0.hasPrefix("http://")) && !$0.dropFirst(8).contains("/") }
            return valid ? origins : nil
        }
        let webhookRetention = reader.optional("WEBHOOK_RETENTION_DAYS", default: 30, parse: positiveInt(max: 3_650))
        let auditRetention = reader.optional("AUDIT_RETENTION_DAYS", default: 365, parse: positiveInt(max: 36_500))

        guard reader.problems.isEmpty, let databaseURL, let port, let workerHealthPort, let publicBaseURL, let sid,
            let token, let apiBase, let concurrency, let level, let format, let databasePoolSize, let redisPoolSize,
            let migrations, let twilioTimeout, let lease, let reconcileAfter, let statusReconcileAfter, let apiHost, let workerHealthHost, let shutdownTimeout, let suppressAfter,
            let perKey, let perIP, let cors, let webhookRetention, let auditRetention, let webDirectory, let webUI
        else {
            throw ConfigurationError(problems: reader.problems)
        }
        var redisConfiguration = redis ?? RedisConfiguration()
        redisConfiguration.maxConnections = redisPoolSize
        var configuration = AppConfiguration(
            databaseURL: databaseURL, redis: redisConfiguration, port: port, workerHealthPort: workerHealthPort,
            publicBaseURL: publicBaseURL, twilioAccountSID: sid, twilioAuthToken: token, twilioAPIBase: apiBase,
            workerConcurrency: concurrency, logLevel: level, logFormat: format, databasePoolSize: databasePoolSize,
            redisPoolSize: redisPoolSize, migrationsDirectory: migrations)
        configuration.twilioTimeout = .seconds(twilioTimeout)
        configuration.sendLease = .seconds(lease)
        // Reconciling a send still waiting for Twilio's answer could send it twice.
        configuration.reconcileAfter = .seconds(max(reconcileAfter, twilioTimeout + 5))
        configuration.statusReconcileAfter = .seconds(statusReconcileAfter)
        configuration.apiHost = apiHost
        configuration.workerHealthHost = workerHealthHost
        configuration.shutdownTimeout = .seconds(shutdownTimeout)
        configuration.suppressAfterCarrierFailures = suppressAfter
        configuration.rateLimitPerKey = perKey
        configuration.rateLimitPerIP = perIP
        configuration.corsAllowedOrigins = cors
        configuration.webhookRetentionDays = webhookRetention
        configuration.auditRetentionDays = auditRetention
        configuration.webDirectory = webDirectory
        configuration.webUIEnabled = webUI
        return configuration
    }
}

// Never print the configuration as it is: it holds the Twilio auth token and
// database credentials. Anything that logs or interpolates it gets this instead.
extension AppConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        "AppConfiguration(database: \(Redact.url(databaseURL)), port: \(port), workerHealthPort: \(workerHealthPort), "
            + "publicBaseURL: \(publicBaseURL), twilioAPIBase: \(twilioAPIBase), workerConcurrency: \(workerConcurrency), auth token: ***)"
    }

    public var debugDescription: String { description }
}

/// Every variable that was missing or malformed, by name.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public struct Problem: Sendable, Equatable {
        public var variable: String
        public var message: String
    }

    public var problems: [Problem]

    public var description: String {
        "invalid configuration (\(problems.count) problem\(problems.count == 1 ? "" : "s")):\n"
            + problems.map { "  - \($0.variable) \($0.message)" }.joined(separator: "\n")
    }
}

/// Reads variables and records problems instead of stopping at the first.
struct EnvironmentReader {
    let environment: [String: String]
    var problems: [ConfigurationError.Problem] = []

    private func value(_ name: String) -> String? {
        guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
        return raw
    }

    mutating func required<T>(_ name: String, hint: String, secret: Bool = false, parse: (String) -> T?) -> T? {
        guard let raw = value(name) else {
            problems.append(.init(variable: name, message: "is missing (\(hint))"))
            return nil
        }
        return parsed(name, raw, hint: hint, secret: secret, parse: parse)
    }

    mutating func optional<T>(
        _ name: String, default fallback: T, hint: String? = nil, secret: Bool = false, parse: (String) -> T?
    ) -> T? {
        guard let raw = value(name) else { return fallback }
        return parsed(name, raw, hint: hint, secret: secret, parse: parse)
    }

    private mutating func parsed<T>(_ name: String, _ raw: String, hint: String?, secret: Bool, parse: (String) -> T?) -> T? {
        if let value = parse(raw) { return value }
        // Values can hold passwords (URLs) or be secrets: never echo them.
        problems.append(.init(variable: name, message: "is malformed" + (hint.map { " (expected \($0))" } ?? "")))
        return nil
    }
}

private func portNumber(_ text: String) -> Int? {
    guard let port = Int(text), (1...65535).contains(port) else { return nil }
    return port
}

private func positiveInt(max: Int) -> (String) -> Int? { wholeNumber(in: 1...max) }

private func wholeNumber(in range: ClosedRange<Int>) -> (String) -> Int? {
    { text in
        guard let value = Int(text), range.contains(value) else { return nil }
        return value
    }
}

private func httpURL(_ text: String) -> String? {
    guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
        scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
    else { return nil }
    var normalized = text
    while normalized.hasSuffix("/") { normalized.removeLast() }
    return normalized
}

private func accountSID(_ text: String) -> String? {
    guard text.count == 34, text.hasPrefix("AC"), text.dropFirst(2).allSatisfy(\.isHexDigit) else { return nil }
    return text
}

/// A listening address: an IPv4 or IPv6 literal or a host name, nothing else.
func listenHost(_ text: String) -> String? {
    guard (1...253).contains(text.count), text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:".contains($0)) }) else {
        return nil
    }
    return text
}
