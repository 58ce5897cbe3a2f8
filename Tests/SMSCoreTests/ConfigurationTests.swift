import Foundation
import SMSCore
import Testing
import TestSupport

@Suite("Configuration")
struct ConfigurationTests {
    static let complete: [String: String] = [
        "DATABASE_URL": "postgres://app:pw@127.0.0.1:5432/smscrm",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PUBLIC_BASE_URL": "https://sms.example.com/",
        "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
        "TWILIO_AUTH_TOKEN": "super-secret-token",
    ]

    @Test("a missing DATABASE_URL produces a message that names it")
    func missingDatabaseURLIsNamed() {
        var environment = Self.complete
        environment["DATABASE_URL"] = nil

        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.load(from: environment, for: .api) }

        #expect(error?.problems.map(\.variable) == ["DATABASE_URL"])
        #expect(error?.description.contains("DATABASE_URL is missing") == true)
    }

    @Test("every missing or malformed variable is reported at once")
    func allProblemsAtOnce() {
        let environment = [
            "PORT": "99999", "LOG_LEVEL": "loud", "WORKER_CONCURRENCY": "0", "TWILIO_ACCOUNT_SID": "nope", "DATABASE_POOL_SIZE": "1",
        ]

        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.load(from: environment, for: .worker) }

        #expect(
            Set(error?.problems.map(\.variable) ?? [])
                == [
                    "DATABASE_URL", "REDIS_URL", "PORT", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN",
                    "WORKER_CONCURRENCY", "LOG_LEVEL", "DATABASE_POOL_SIZE",
                ])
        // A launch holds two connections, so one is refused with the reason.
        #expect(error?.problems.first { $0.variable == "DATABASE_POOL_SIZE" }?.message.contains("two connections") == true)
    }

    @Test("malformed secrets and URLs are reported without echoing their values")
    func problemsDoNotEchoValues() {
        var environment = Self.complete
        environment["DATABASE_URL"] = "mysql://root:hunter2@db/app"
        environment["REDIS_URL"] = "redis://:hunter3@cache:notaport"

        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.load(from: environment, for: .api) }

        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("hunter3") == false)
        #expect(Set(error?.problems.map(\.variable) ?? []) == ["DATABASE_URL", "REDIS_URL"])
    }

    @Test("a complete environment loads with documented defaults")
    func defaults() throws {
        let configuration = try AppConfiguration.load(from: Self.complete, for: .api)

        #expect(configuration.port == 3000)
        #expect(configuration.workerHealthPort == 3002)
        #expect(configuration.publicBaseURL == "https://sms.example.com")
        #expect(configuration.twilioAPIBase == "https://api.twilio.com")
        #expect(configuration.workerConcurrency == 4)
        #expect(configuration.logLevel == .info)
        #expect(configuration.logFormat == .json)
        #expect(configuration.redis.port == 6379)
    }

    @Test("the CLI needs only DATABASE_URL")
    func cliNeedsOnlyDatabase() throws {
        let configuration = try AppConfiguration.load(from: ["DATABASE_URL": "host=127.0.0.1 dbname=smscrm"], for: .cli)

        #expect(configuration.databaseURL == "host=127.0.0.1 dbname=smscrm")
    }

    @Test("every variable the code reads is documented in .env.example")
    func envExampleListsEverything() throws {
        let example = try String(contentsOfFile: TestEnvironment.packageRoot + "/.env.example", encoding: .utf8)
        for variable in [
            "DATABASE_URL", "REDIS_URL", "PORT", "WORKER_HEALTH_PORT", "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID",
            "TWILIO_AUTH_TOKEN", "TWILIO_API_BASE", "WORKER_CONCURRENCY", "LOG_LEVEL", "LOG_FORMAT", "DATABASE_POOL_SIZE",
            "REDIS_POOL_SIZE", "MIGRATIONS_DIR", "SANDBOX_PORT",
        ] {
            #expect(example.contains("\(variable)="), "\(variable) is missing from .env.example")
        }
    }

    @Test("API_HOST and WORKER_HEALTH_HOST set the listening addresses, default every interface, and refuse what is no address")
    func listeningAddresses() throws {
        let defaults = try AppConfiguration.load(from: Self.complete, for: .api)
        #expect(defaults.apiHost == "0.0.0.0")
        #expect(defaults.workerHealthHost == "0.0.0.0")

        var environment = Self.complete
        environment["API_HOST"] = "127.0.0.1"
        environment["WORKER_HEALTH_HOST"] = "::1"
        let local = try AppConfiguration.load(from: environment, for: .api)
        #expect(local.apiHost == "127.0.0.1")
        #expect(local.workerHealthHost == "::1")

        environment["API_HOST"] = "0.0.0.0; rm -rf"
        let error = #expect(throws: ConfigurationError.self) { try AppConfiguration.load(from: environment, for: .api) }
        #expect(error?.problems.map(\.variable) == ["API_HOST"])
    }
}
