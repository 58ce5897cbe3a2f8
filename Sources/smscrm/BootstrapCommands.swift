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

        func run() async throws {
            guard let zone = RecipientTimeZone.validatedIdentifier(timezone) else {
                throw ValidationError("\(timezone) is not an IANA time zone such as Australia/Sydney")
            }
            let code = country.uppercased()
            guard code.count == 2, code.allSatisfy({ $0.isASCII && $0.isLetter }) else {
                throw ValidationError("--country takes a two-letter ISO code such as AU")
            }
            let tenant = try await withDatabase { postgres in
                try await TenantStore(postgres: postgres).create(name: name, timezone: zone, defaultCountry: code, actor: .cli)
            }
            print("created tenant \(tenant.id) (\(tenant.name), \(tenant.timezone), \(tenant.defaultCountry))")
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

        func run() async throws {
            let password = try readPassword()
            if let tenant, UUID(uuidString: tenant) == nil { throw ValidationError("--tenant takes a tenant id (a UUID)") }
            let user = try await withDatabase { postgres in
                let identity = IdentityStore(postgres: postgres)
                let user = try await identity.createUser(email: email, password: password, isPlatformAdmin: platformAdmin)
                if let tenant { try await identity.setMembership(userID: user.id, tenantID: tenant, role: role) }
                return user
            }
            print("created user \(user.id) (\(user.email))" + (tenant.map { ", \(role.rawValue) of \($0)" } ?? ""))
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

        func run() async throws {
            guard UUID(uuidString: tenant) != nil else { throw ValidationError("--tenant takes a tenant id (a UUID)") }
            let (key, secret) = try await withDatabase { postgres in
                try await IdentityStore(postgres: postgres).createAPIKey(
                    tenantID: tenant, name: name, role: role, createdBy: nil,
                    audit: AuditEntry(tenantID: tenant, actor: .cli, action: "api_key.create", targetType: "api_key", details: ["name": name]))
            }
            print("created API key \(key.id) (\(key.role.rawValue)); the secret is shown only now:")
            print(secret)
        }
    }
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
