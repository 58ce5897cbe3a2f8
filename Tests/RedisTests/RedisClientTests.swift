import Foundation
import Redis
import Testing
import TestSupport

@Suite("Redis driver")
struct RedisClientTests {
    static func client(maxConnections: Int = 4) throws -> RedisClient {
        var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        configuration.maxConnections = maxConnections
        return RedisClient(configuration: configuration)
    }

    @Test("values with NUL, CRLF and non-UTF-8 bytes round-trip byte for byte")
    func binarySafeArguments() async throws {
        let redis = try Self.client()
        defer { Task { await redis.shutdown() } }
        let key = uniqueRedisPrefix() + "binary"
        let value: [UInt8] = [0, 13, 10, 255, 254, 36, 42] + Array("\r\n*3\r\n".utf8) + [0]

        try await redis.command("SET", key, value, "EX", 60)
        let reply = try await redis.command("GET", key)

        #expect(reply.bytes == value)
    }

    @Test("a pipeline of 10,000 commands returns 10,000 replies in order")
    func largePipeline() async throws {
        let redis = try Self.client()
        defer { Task { await redis.shutdown() } }
        let key = uniqueRedisPrefix() + "counter"
        let commands = (0..<10_000).map { _ in RedisCommand("INCR", key) } + [RedisCommand("EXPIRE", key, 60)]

        let replies = try await redis.pipeline(commands)

        #expect(replies.count == 10_001)
        #expect(replies.prefix(10_000).map(\.int) == (1...10_000).map { Optional($0) })
    }

    @Test("error replies are thrown for single commands and returned in place in pipelines")
    func errorReplies() async throws {
        let redis = try Self.client()
        defer { Task { await redis.shutdown() } }
        let key = uniqueRedisPrefix() + "list"
        try await redis.command("RPUSH", key, "a")

        let error = await #expect(throws: RedisError.self) { try await redis.command("INCR", key) }
        let replies = try await redis.pipeline([RedisCommand("INCR", key), RedisCommand("LLEN", key), RedisCommand("DEL", key)])

        #expect(error?.serverErrorPrefix == "WRONGTYPE")
        #expect(replies[0] == .error("WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(replies[1] == .integer(1))
    }

    @Test("a script runs by SHA and survives SCRIPT FLUSH")
    func scriptSurvivesFlush() async throws {
        let redis = try Self.client()
        defer { Task { await redis.shutdown() } }
        let key = uniqueRedisPrefix() + "scripted"
        let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")

        let first = try await redis.run(script, keys: [key], arguments: ["5"])
        try await redis.command("SCRIPT", "FLUSH")
        let second = try await redis.run(script, keys: [key], arguments: ["7"])
        try await redis.command("DEL", key)

        #expect(first == .integer(5))
        #expect(second == .integer(12))
    }

    @Test("REDIS_URL forms parse into host, port, password and database", arguments: [
        ("redis://127.0.0.1:6380/2", "127.0.0.1", 6380, nil as String?, 2),
        ("redis://:s3cr%40t@cache.internal:6379", "cache.internal", 6379, "s3cr@t", 0),
        ("redis://localhost", "localhost", 6379, nil, 0),
    ])
    func urlParsing(url: String, host: String, port: Int, password: String?, database: Int) throws {
        let configuration = try RedisConfiguration(url: url)

        #expect(configuration.host == host)
        #expect(configuration.port == port)
        #expect(configuration.password == password)
        #expect(configuration.database == database)
    }

    @Test("malformed REDIS_URLs are refused", arguments: ["http://host:6379", "redis://host:6379/notanumber", "redis://"])
    func badURLs(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test("the database number in the URL is selected")
    func databaseIsSelected() async throws {
        var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        configuration.database = 3
        let redis = RedisClient(configuration: configuration)
        defer { Task { await redis.shutdown() } }
        let key = uniqueRedisPrefix() + "db"
        try await redis.command("SET", key, "three", "EX", 60)

        let other = try Self.client()
        defer { Task { await other.shutdown() } }
        #expect(try await other.command("EXISTS", key) == .integer(0))
        #expect(try await redis.command("GET", key).string == "three")
    }

    @Test("a command that outlives the command timeout fails as a lost connection, and the pool recovers")
    func commandTimeout() async throws {
        var configuration = try RedisConfiguration(url: try TestEnvironment.redisURL())
        configuration.commandTimeout = .milliseconds(200)
        configuration.maxConnections = 1
        let redis = RedisClient(configuration: configuration)
        defer { Task { await redis.shutdown() } }

        let error = await #expect(throws: RedisError.self) {
            try await redis.command("BLPOP", uniqueRedisPrefix() + "never", 2)
        }

        #expect(error?.code == .connectionLost)
        #expect(try await redis.command("PING") == .simpleString("PONG"))
    }
}

@Suite("Redis restart", .serialized)
struct RedisRestartTests {
    @Test("after a Redis restart the next command succeeds")
    func commandAfterRestart() async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.restartableRedisURL()))
        defer { Task { await redis.shutdown() } }
        #expect(try await redis.command("PING") == .simpleString("PONG"))

        try TestEnvironment.restart("redis")

        #expect(try await redis.command("PING") == .simpleString("PONG"))
        try await redis.command("SET", "after-restart", "yes")
        #expect(try await redis.command("GET", "after-restart").string == "yes")
    }
}
