import ArgumentParser
import Foundation
import Logging
import Postgres
import SMSCore

@main
struct SMSCRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smscrm",
        abstract: "Operator commands for smscrm.",
        subcommands: [
            Migrate.self, TenantCommand.self, UserCommand.self, APIKeyCommand.self, PauseCommand.self, ResumeCommand.self,
            QueueCommand.self, DeadLettersCommand.self, SessionsCommand.self,
        ])
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply, inspect or create database migrations.",
        subcommands: [Apply.self, Status.self, New.self],
        defaultSubcommand: Apply.self)
}

/// Options every migrate subcommand shares.
struct MigrationOptions: ParsableArguments {
    @Option(name: .long, help: "Directory of NNNN_name.sql files (default: $MIGRATIONS_DIR or ./migrations).")
    var dir: String?

    func directory(_ configuration: AppConfiguration?) -> String {
        dir ?? configuration?.migrationsDirectory ?? ProcessInfo.processInfo.environment["MIGRATIONS_DIR"] ?? "./migrations"
    }

    func migrator() -> (Migrator, PostgresClient) {
        let configuration = ProcessStartup.configuration(for: .cli)
        let client = PostgresClient(configuration: .init(url: configuration.databaseURL, maxConnections: 1, applicationName: "smscrm-migrate"))
        return (Migrator(client: client, directory: directory(configuration)), client)
    }
}

extension Migrate {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "apply", abstract: "Apply every pending migration, each in its own transaction (the default).")

        @OptionGroup var options: MigrationOptions

        func run() async throws {
            let (migrator, client) = options.migrator()
            do {
                let applied = try await migrator.migrate()
                if applied.isEmpty {
                    print("Database is up to date; nothing to apply.")
                } else {
                    for migration in applied { print("applied \(migration.filename)") }
                    print("Applied \(applied.count) migration\(applied.count == 1 ? "" : "s").")
                }
            } catch {
                await client.shutdown()
                throw CLIFailure(error)
            }
            await client.shutdown()
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List applied and pending migrations.")

        @OptionGroup var options: MigrationOptions

        func run() async throws {
            let (migrator, client) = options.migrator()
            let entries: [Migrator.Entry]
            do {
                entries = try await migrator.status()
            } catch {
                await client.shutdown()
                throw CLIFailure(error)
            }
            await client.shutdown()
            var pending = 0
            var problems = 0
            for entry in entries {
                let state: String
                switch entry.state {
                case .applied(let at): state = "applied   \(at.formatted(.iso8601))"
                case .pending: state = "pending"; pending += 1
                case .edited(let at): state = "EDITED    applied \(at.formatted(.iso8601)), file changed since"; problems += 1
                case .missingFile(let at): state = "MISSING   applied \(at.formatted(.iso8601)), no file"; problems += 1
                }
                print("\(entry.version)  \(entry.name.padding(toLength: 32, withPad: " ", startingAt: 0))  \(state)")
            }
            print("\(entries.count - pending - problems) applied, \(pending) pending, \(problems) with problems.")
            if problems > 0 { throw ExitCode(1) }
        }
    }

    struct New: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create the next numbered, empty migration file.")

        @Argument(help: "What the migration does, e.g. add_inbox_index.")
        var name: String

        @OptionGroup var options: MigrationOptions

        func run() async throws {
            do {
                let path = try Migrator.createMigration(named: name, in: options.directory(nil))
                print("created \(path)")
            } catch {
                throw CLIFailure(error)
            }
        }
    }
}

/// Prints the error's own description (which says what to do) and exits 1.
struct CLIFailure: Error, CustomStringConvertible {
    let underlying: any Error
    init(_ underlying: any Error) { self.underlying = underlying }
    var description: String { "smscrm: \(underlying)" }
}

extension CLIFailure: LocalizedError {
    var errorDescription: String? { description }
}
