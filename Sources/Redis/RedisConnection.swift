import CHiredis
import ConnectionPool

#if canImport(Glibc)
import Glibc
#endif

/// One hiredis connection. Not `Sendable`: it is only used on a pool thread by
/// one caller at a time (see ``RedisClient``). Every call blocks.
public final class RedisConnection: PooledConnection {
    private let context: UnsafeMutablePointer<redisContext>

    /// Connects, authenticates and selects the database.
    public init(configuration: RedisConfiguration) throws {
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeval(configuration.connectTimeout)) else {
            throw RedisError(code: .connectionFailed, message: "out of memory")
        }
        guard context.pointee.err == 0 else {
            let message = Self.errorString(context)
            redisFree(context)
            throw RedisError(code: .connectionFailed, message: message)
        }
        redisSetTimeout(context, timeval(configuration.commandTimeout))
        self.context = context
        do {
            if let password = configuration.password {
                if let username = configuration.username {
                    try command(RedisCommand("AUTH", username, password))
                } else {
                    try command(RedisCommand("AUTH", password))
                }
            }
            if configuration.database != 0 {
                try command(RedisCommand("SELECT", configuration.database))
            }
        } catch let error as RedisError {
            throw RedisError(code: .connectionFailed, message: error.message)
        }
    }

    deinit { redisFree(context) }

    /// Sends one command and waits for its reply; an error reply is thrown.
    @discardableResult
    public func command(_ command: RedisCommand) throws -> RedisValue {
        let reply = withArgv(command) { argc, argv, lengths in
            redisCommandArgv(context, argc, argv, lengths)
        }
        let value = try take(reply)
        if case .error(let message) = value { throw RedisError(code: .serverError, message: message) }
        return value
    }

    /// Sends one command given as name and arguments.
    @discardableResult
    public func command(_ name: String, _ arguments: any RedisArgument...) throws -> RedisValue {
        try command(RedisCommand(name, arguments))
    }

    /// Sends every command before reading any reply, and returns the replies in
    /// order. Error replies are returned in place, not thrown.
    public func pipeline(_ commands: [RedisCommand]) throws -> [RedisValue] {
        for command in commands {
            let status = withArgv(command) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard status == REDIS_OK else { throw lostError() }
        }
        var replies: [RedisValue] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var reply: UnsafeMutableRawPointer?
            guard redisGetReply(context, &reply) == REDIS_OK else { throw lostError() }
            replies.append(try take(reply))
        }
        return replies
    }

    /// Runs a Lua script by its SHA1, sending the source (which loads it) when
    /// the server does not know it (first use, `SCRIPT FLUSH`, a restart or a failover).
    @discardableResult
    public func run(_ script: RedisScript, keys: [any RedisArgument] = [], arguments: [any RedisArgument] = []) throws -> RedisValue {
        let tail: [any RedisArgument] = [keys.count] + keys + arguments
        do {
            return try command(RedisCommand("EVALSHA", [script.sha1] + tail))
        } catch let error as RedisError where error.serverErrorPrefix == "NOSCRIPT" {
            // EVAL runs the source and caches it in one step: a SCRIPT LOAD then
            // EVALSHA could lose the script again to a flush in between.
            return try command(RedisCommand("EVAL", [script.source] + tail))
        }
    }

    /// Changes the read timeout of this connection, e.g. for blocking pops.
    /// `nil` waits forever.
    public func setCommandTimeout(_ timeout: Duration?) {
        redisSetTimeout(context, timeout.map(timeval) ?? timeval(tv_sec: 0, tv_usec: 0))
    }

    // MARK: PooledConnection

    public func isAliveWhenIdle() -> Bool {
        context.pointee.err == 0 && !idleSocketLooksClosed(context.pointee.fd)
    }

    public var mustBeDiscarded: Bool { context.pointee.err != 0 }

    // MARK: Internals

    private func withArgv<R>(_ command: RedisCommand, _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        let lengths = command.arguments.map(\.count)
        let buffers: [UnsafeMutablePointer<CChar>] = command.arguments.map { bytes in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { raw in
                if let base = raw.baseAddress { UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count) }
            }
            return buffer
        }
        defer { for buffer in buffers { buffer.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0) }
        return argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(command.arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }

    private func take(_ reply: UnsafeMutableRawPointer?) throws -> RedisValue {
        guard let reply else { throw lostError() }
        defer { freeReplyObject(reply) }
        return Self.convert(reply.assumingMemoryBound(to: redisReply.self))
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisValue {
        let r = reply.pointee
        func text() -> String {
            String(decoding: UnsafeRawBufferPointer(start: r.str, count: Int(r.len)), as: UTF8.self)
        }
        switch r.type {
        case REDIS_REPLY_STRING:
            return .bulkString(Array(UnsafeRawBufferPointer(start: r.str, count: Int(r.len))))
        case REDIS_REPLY_STATUS:
            return .simpleString(text())
        case REDIS_REPLY_ERROR:
            return .error(text())
        case REDIS_REPLY_INTEGER:
            return .integer(Int(r.integer))
        case REDIS_REPLY_ARRAY:
            return .array((0..<Int(r.elements)).map { convert(r.element[$0]!) })
        default:
            return .null
        }
    }

    private func lostError() -> RedisError {
        RedisError(code: .connectionLost, message: Self.errorString(context))
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            let bytes = raw.prefix { $0 != 0 }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

private func timeval(_ duration: Duration) -> timeval {
    let (seconds, attoseconds) = duration.components
    return timeval(tv_sec: Int(seconds), tv_usec: Int(attoseconds / 1_000_000_000_000))
}
