/// A RESP2 reply.
public enum RedisValue: Sendable, Equatable {
    case simpleString(String)
    /// An error reply, e.g. `NOSCRIPT No matching script`. Single commands throw
    /// these as ``RedisError``; pipelines return them in place.
    case error(String)
    case integer(Int)
    case bulkString([UInt8])
    case null
    case array([RedisValue])

    /// The value as text: simple and bulk strings, integers.
    public var string: String? {
        switch self {
        case .simpleString(let s): s
        case .bulkString(let b): String(decoding: b, as: UTF8.self)
        case .integer(let i): String(i)
        default: nil
        }
    }

    /// The value as an integer: integers, and strings holding one.
    public var int: Int? {
        switch self {
        case .integer(let i): i
        case .bulkString, .simpleString: string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The raw bytes of a bulk string.
    public var bytes: [UInt8]? {
        if case .bulkString(let b) = self { return b }
        return nil
    }

    public var array: [RedisValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var isNull: Bool { self == .null }
}

/// Something that can be sent as one argument of a command, byte for byte.
public protocol RedisArgument: Sendable {
    var redisBytes: [UInt8] { get }
}

extension String: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Substring: RedisArgument {
    public var redisBytes: [UInt8] { Array(utf8) }
}

extension Int: RedisArgument {
    public var redisBytes: [UInt8] { Array(String(self).utf8) }
}

extension Double: RedisArgument {
    public var redisBytes: [UInt8] { Array("\(self)".utf8) }
}

extension Array: RedisArgument where Element == UInt8 {
    public var redisBytes: [UInt8] { self }
}

/// A command ready to send: the name and its arguments as bytes.
public struct RedisCommand: Sendable {
    public var arguments: [[UInt8]]
    public init(_ name: String, _ arguments: [any RedisArgument]) {
        self.arguments = [Array(name.utf8)] + arguments.map(\.redisBytes)
    }
    public init(_ name: String, _ arguments: any RedisArgument...) {
        self.init(name, arguments)
    }
}

/// An error from Redis or from talking to it. The description never contains
/// command arguments.
public struct RedisError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let raw: String
        /// `REDIS_URL` could not be parsed.
        public static let invalidURL = Code(raw: "invalidURL")
        /// Could not connect, authenticate or select the database.
        public static let connectionFailed = Code(raw: "connectionFailed")
        /// The connection broke or timed out during a command: it may have run.
        public static let connectionLost = Code(raw: "connectionLost")
        /// The server answered with an error reply; see ``RedisError/message``.
        public static let serverError = Code(raw: "serverError")
        public var description: String { raw }
    }

    public var code: Code
    /// The server's error reply or the client library's message.
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    /// The first word of a server error, e.g. `NOSCRIPT`, `WRONGTYPE`, `BUSY`.
    public var serverErrorPrefix: String? {
        guard code == .serverError else { return nil }
        return message.split(separator: " ", maxSplits: 1).first.map(String.init)
    }

    public var description: String { "RedisError(\(code): \(message))" }
}
