import ArgumentParser
import Foundation
import Postgres
import SMSCore

/// Opens the database for a one-shot command and closes it afterwards.
func withDatabase<T>(_ body: (PostgresClient) async throws -> T) async throws -> T {
    let configuration = ProcessStartup.configuration(for: .cli)
    let client = PostgresClient(configuration: .init(url: configuration.databaseURL, maxConnections: 2, applicationName: "smscrm-cli"))
    do {
        let value = try await body(client)
        await client.shutdown()
        return value
    } catch {
        await client.shutdown()
        throw CLIFailure(error)
    }
}

struct TenantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenant", abstract: "Manage tenants.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant and print its id.")

        @Option(help: "The tenant's name.") var name: String
        @Option(help: "IANA time zone, e.g. Australia/Sydney.") var timezone: String = "UTC"
        @Option(help: "ISO country for national-format phone numbers, e.g. AU.") var country: String = "US"
        @Flag(help: "Print one JSON object: id, name, timezone, default_country.") var json = false
        @Flag(name: .shortAndLong, help: "Print only the tenant id.") var quiet = false

        func validate() throws { try CreatedOutput.validate(json: json, quiet: quiet) }

        func run() async throws {
            guard let zone = RecipientTimeZone.validatedIdentifier(timezone) else {
                throw ValidationError("\(timezone) is not an IANA time zone: \(RecipientTimeZone.hint(for: timezone))")
            }
            guard let code = PhoneNumber.supportedCountry(country) else {
                throw ValidationError("--country takes a two-letter ISO country code whose numbers can be read, such as AU")
            }
            let tenant = try await withDatabase { postgres in
                try await TenantStore(postgres: postgres).create(name: name, timezone: zone, defaultCountry: code, actor: .cli)
            }
            try CreatedOutput(json: json, quiet: quiet).print(
                sentence: "created tenant \(tenant.id) (\(tenant.name), \(tenant.timezone), \(tenant.defaultCountry))",
                json: CreatedTenant(id: tenant.id, name: tenant.name, timezone: tenant.timezone, defaultCountry: tenant.defaultCountry),
                quiet: tenant.id)
        }
    }
}

struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage users.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user. The password is read from SMSCRM_PASSWORD or, if unset, from the first line of stdin — never from arguments, which other users can see in ps.")

        @Option(help: "Login email.") var email: String
        @Option(help: "Add the user to this tenant id.") var tenant: String?
        @Option(help: "Role in --tenant: owner, admin, member or viewer.") var role: Role = .owner
        @Flag(help: "Operator with access to every tenant.") var platformAdmin = false
        @Flag(help: "Print one JSON object: id, email, platform_admin, and tenant_id and role with --tenant.") var json = false
        @Flag(name: .shortAndLong, help: "Print only the user id.") var quiet = false

        func validate() throws { try CreatedOutput.validate(json: json, quiet: quiet) }

        func run() async throws {
            let password = try readPassword()
            if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant takes a tenant id (a UUID)") }
            let user = try await withDatabase { postgres in
                let identity = IdentityStore(postgres: postgres)
                let user = try await identity.createUser(email: email, password: password, isPlatformAdmin: platformAdmin)
                if let tenant { try await identity.setMembership(userID: user.id, tenantID: tenant, role: role) }
                return user
            }
            try CreatedOutput(json: json, quiet: quiet).print(
                sentence: "created user \(user.id) (\(user.email))" + (tenant.map { ", \(role.rawValue) of \($0)" } ?? ""),
                json: CreatedUser(
                    id: user.id, email: user.email, platformAdmin: user.isPlatformAdmin, tenantId: tenant, role: tenant.map { _ in role.rawValue }),
                quiet: user.id)
        }
    }
}

struct APIKeyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikey", abstract: "Manage API keys.", subcommands: [Create.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print its secret once.")

        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "A name to recognise the key by.") var name: String
        @Option(help: "owner, admin, member or viewer.") var role: Role = .member
        @Flag(help: "Print one JSON object: id, tenant_id, name, role, secret.") var json = false
        // The secret, not the id: it is shown only now, and the id can be looked up later.
        @Flag(name: .shortAndLong, help: "Print only the secret.") var quiet = false

        func validate() throws { try CreatedOutput.validate(json: json, quiet: quiet) }

        func run() async throws {
            guard UUID(uuidString: tenant) != nil else { throw ValidationError("--tenant takes a tenant id (a UUID)") }
            let (key, secret) = try await withDatabase { postgres in
                try await IdentityStore(postgres: postgres).createAPIKey(
                    tenantID: tenant, name: name, role: role, createdBy: nil,
                    audit: AuditEntry(tenantID: tenant, actor: .cli, action: "api_key.create", targetType: "api_key", details: ["name": name]))
            }
            try CreatedOutput(json: json, quiet: quiet).print(
                sentence: "created API key \(key.id) (\(key.role.rawValue)); the secret is shown only now:\n\(secret)",
                json: CreatedAPIKey(id: key.id, tenantId: key.tenantId, name: key.name, role: key.role.rawValue, secret: secret),
                quiet: secret)
        }
    }
}

/// How a create command prints what it made: a sentence for people (the default),
/// one JSON object (`--json`), or only the value a script needs next (`--quiet`).
///
/// README once promised that `tenant create` "prints the tenant id" while it
/// printed a sentence that scripts had to cut the id out of with awk.
enum CreatedOutput {
    case sentence, json, quiet

    init(json: Bool, quiet: Bool) {
        self = json ? .json : quiet ? .quiet : .sentence
    }

    static func validate(json: Bool, quiet: Bool) throws {
        if json && quiet { throw ValidationError("--json and --quiet cannot be used together") }
    }

    func print(sentence: String, json record: some Encodable, quiet value: String) throws {
        switch self {
        case .sentence: Swift.print(sentence)
        case .json: Swift.print(try cliJSON(record, pretty: false))
        case .quiet: Swift.print(value)
        }
    }
}

/// `tenant create --json`.
struct CreatedTenant: Encodable {
    let id: String
    let name: String
    let timezone: String
    let defaultCountry: String
}

/// `user create --json`; `tenant_id` and `role` only with `--tenant`.
struct CreatedUser: Encodable {
    let id: String
    let email: String
    let platformAdmin: Bool
    let tenantId: String?
    let role: String?
}

/// `apikey create --json`.
struct CreatedAPIKey: Encodable {
    let id: String
    let tenantId: String
    let name: String
    let role: String
    let secret: String
}

extension Role: ExpressibleByArgument {}

/// SMSCRM_PASSWORD, else the first line of stdin.
func readPassword() throws -> String {
    let password: String
    if let fromEnvironment = ProcessInfo.processInfo.environment["SMSCRM_PASSWORD"], !fromEnvironment.isEmpty {
        password = fromEnvironment
    } else if let line = readLine(strippingNewline: true), !line.isEmpty {
        password = line
    } else {
        throw ValidationError("no password: set SMSCRM_PASSWORD or pipe it on stdin")
    }
    guard password.count >= 12 else { throw ValidationError("the password must have at least 12 characters") }
    return password
}
