import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
import Redis
import SMSAPI
import SMSCore
import SMSWeb
import TestSupport

/// One API under test on its own migrated database, with helpers to make
/// tenants, users and keys, and to call routes as one of them.
struct APIHarness {
    let services: AppServices
    let identity: IdentityStore
    let tenants: TenantStore

    static let password = "correct horse battery staple"

    /// `environment` adds to (or overrides) the test configuration. Rate limits are off
    /// unless a test turns them on: the suite's many requests all come from one "IP".
    static func make(policy: SessionPolicy = SessionPolicy(bcryptCost: 4), environment: [String: String] = [:]) async throws -> APIHarness {
        let url = try await TestDatabases.createMigrated()
        let configuration = try AppConfiguration.load(
            from: [
                "DATABASE_URL": url, "REDIS_URL": try TestEnvironment.redisURL(),
                "PUBLIC_BASE_URL": "http://api.test", "TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
                "TWILIO_AUTH_TOKEN": "test-token", "DATABASE_POOL_SIZE": "4", "REDIS_POOL_SIZE": "4",
                "RATE_LIMIT_PER_MINUTE_KEY": "0", "RATE_LIMIT_PER_MINUTE_IP": "0",
            ].merging(environment) { $1 }, for: .api)
        var logger = Logger(label: "api-test")
        logger.logLevel = .critical
        let services = AppServices(configuration: configuration, applicationName: "smscrm-tests", logger: logger, sessionPolicy: policy)
        return APIHarness(
            services: services, identity: IdentityStore(postgres: services.postgres, policy: policy),
            tenants: TenantStore(postgres: services.postgres))
    }

    func shutdown() async {
        await services.postgres.shutdown()
        await services.redis.shutdown()
    }

    /// Runs `body` against the router, in process.
    func test(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: buildRouter(services: services), logger: services.logger)
        try await app.test(.router, body)
    }

    /// Runs `body` against the router with the admin UI mounted.
    func testWithUI(_ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let app = Application(router: buildRouter(services: services, web: try await Self.webFiles()), logger: services.logger)
        try await app.test(.router, body)
    }

    /// The UI's files from WEB_DIR (scripts/test.sh exports it), else the repository's web/.
    static func webFiles() async throws -> WebFiles {
        try await WebFiles.load(directory: ProcessInfo.processInfo.environment["WEB_DIR"] ?? TestEnvironment.packageRoot + "/web")
    }

    func makeTenant(_ name: String = "Tenant \(UUID().uuidString.prefix(6))") async throws -> Tenant {
        try await tenants.create(name: name, timezone: "Australia/Sydney", defaultCountry: "AU", actor: .cli)
    }

    /// A user with `role` in `tenant`.
    func makeUser(role: Role, in tenant: Tenant) async throws -> User {
        let user = try await identity.createUser(email: "u\(UUID().uuidString.prefix(8))@example.com", password: Self.password)
        try await identity.setMembership(userID: user.id, tenantID: tenant.id, role: role)
        return user
    }

    /// A bearer secret with `role` in `tenant`.
    func makeKey(role: Role, in tenant: Tenant) async throws -> String {
        try await identity.createAPIKey(
            tenantID: tenant.id, name: "test", role: role, createdBy: nil,
            audit: AuditEntry(tenantID: tenant.id, actor: .cli, action: "api_key.create")
        ).secret
    }

    /// Logs in through the API and returns the session cookie header value.
    func login(_ user: User, client: any TestClientProtocol) async throws -> String {
        let response = try await client.executeRequest(
            uri: "/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: json(["email": user.email, "password": Self.password]))
        guard response.status == .ok, let cookie = response.headers[.setCookie], let pair = cookie.split(separator: ";").first else {
            throw ProcessRunner.Failure(description: "login failed: \(response.status) \(String(buffer: response.body))")
        }
        return String(pair)
    }
}

/// How a test authenticates.
enum Credential: Sendable {
    case cookie(String)
    case bearer(String)
    case none

    var headers: HTTPFields {
        switch self {
        case .cookie(let pair): [.cookie: pair]
        case .bearer(let secret): [.authorization: "Bearer \(secret)"]
        case .none: [:]
        }
    }
}

func json(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

extension TestClientProtocol {
    /// Calls a route with a credential and an optional JSON body.
    func call(
        _ method: HTTPRequest.Method, _ uri: String, as credential: Credential, json object: [String: Any]? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = credential.headers
        if let object {
            headers[.contentType] = "application/json"
            for field in extra { headers.append(field) }
            return try await executeRequest(uri: uri, method: method, headers: headers, body: json(object))
        }
        for field in extra { headers.append(field) }
        return try await executeRequest(uri: uri, method: method, headers: headers, body: nil)
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var object: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any]) ?? [:]
    }

    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
}
