import Curl
import Foundation
import Hummingbird

/// A local stand-in for Twilio's Messages API, for development, tests and
/// benchmarks. It checks credentials and input the way Twilio does and answers
/// with Twilio-shaped JSON.
///
/// Not built yet (send-pipeline issue): status callbacks, fault injection and
/// inbound messages.
public struct TwilioSandbox: Sendable {
    public struct Configuration: Sendable {
        public var accountSID: String
        public var authToken: String
        public var host: String
        public var port: Int

        public init(accountSID: String, authToken: String, host: String = "127.0.0.1", port: Int = 3003) {
            self.accountSID = accountSID
            self.authToken = authToken
            self.host = host
            self.port = port
        }
    }

    public let configuration: Configuration
    public let store = SandboxMessageStore()

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// The sandbox as a Hummingbird application; tests run it in-process.
    public func buildApplication() -> some ApplicationProtocol {
        let router = Router()
        router.get("health") { _, _ in ["status": "healthy"] }
        let accounts = router.group("2010-04-01/Accounts/:accountSid")
        accounts.post("Messages.json") { request, context in
            try await createMessage(request, context: context)
        }
        accounts.get("Messages/:messageSid") { request, context in
            try await fetchMessage(request, context: context)
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "twilio-sandbox"))
    }

    // MARK: Handlers

    func createMessage(_ request: Request, context: some RequestContext) async throws -> Response {
        if let refusal = authenticate(request, context: context) { return refusal }
        var request = request
        let buffer = try await request.collectBody(upTo: 64 * 1024)
        let fields = Dictionary(FormEncoding.decode(String(buffer: buffer)), uniquingKeysWith: { first, _ in first })
        guard let to = fields["To"], isE164(to) else {
            return TwilioErrorBody.response(400, code: 21211, message: "The 'To' number \(fields["To"] ?? "") is not a valid phone number.")
        }
        guard let from = fields["From"] ?? fields["MessagingServiceSid"] else {
            return TwilioErrorBody.response(400, code: 21603, message: "A 'From' phone number is required.")
        }
        guard isE164(from) || from.hasPrefix("MG") else {
            return TwilioErrorBody.response(400, code: 21212, message: "The 'From' number \(from) is not a valid phone number.")
        }
        guard let body = fields["Body"], !body.isEmpty else {
            return TwilioErrorBody.response(400, code: 21602, message: "Message body is required.")
        }
        guard body.count <= 1600 else {
            return TwilioErrorBody.response(400, code: 21617, message: "The concatenated message body exceeds the 1600 character limit.")
        }
        let message = await store.create(
            accountSID: configuration.accountSID, to: to, from: from, body: body, statusCallback: fields["StatusCallback"])
        return try jsonResponse(.created, message)
    }

    func fetchMessage(_ request: Request, context: some RequestContext) async throws -> Response {
        if let refusal = authenticate(request, context: context) { return refusal }
        var sid = context.parameters.get("messageSid") ?? ""
        if sid.hasSuffix(".json") { sid.removeLast(5) }
        guard let message = await store.message(sid: sid) else {
            return TwilioErrorBody.response(404, code: 20404, message: "The requested resource was not found")
        }
        return try jsonResponse(.ok, message)
    }

    /// Twilio answers 401 with code 20003 for a wrong or missing basic auth,
    /// and for a path account that is not the authenticated one.
    func authenticate(_ request: Request, context: some RequestContext) -> Response? {
        let expected = "Basic " + Data("\(configuration.accountSID):\(configuration.authToken)".utf8).base64EncodedString()
        guard request.headers[.authorization] == expected,
            context.parameters.get("accountSid") == configuration.accountSID
        else {
            return TwilioErrorBody.response(401, code: 20003, message: "Authenticate")
        }
        return nil
    }

    func jsonResponse(_ status: HTTPResponse.Status, _ message: SandboxMessage) throws -> Response {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(message))))
    }
}

/// A message as the sandbox's API shows it (Twilio's field names, snake_case).
public struct SandboxMessage: Codable, Sendable {
    public var sid: String
    public var accountSid: String
    public var to: String
    public var from: String
    public var body: String
    public var status: String
    public var numSegments: String
    public var direction: String
    public var dateCreated: String
    public var errorCode: Int?
    public var errorMessage: String?
    public var price: String?
    public var priceUnit: String
    public var uri: String
    /// Where status callbacks go; not part of Twilio's JSON.
    var statusCallback: String?

    enum CodingKeys: String, CodingKey {
        case sid, accountSid, to, from, body, status, numSegments, direction, dateCreated, errorCode, errorMessage, price,
            priceUnit, uri
    }
}

/// The sandbox's memory of what it was asked to send.
public actor SandboxMessageStore {
    private var messages: [String: SandboxMessage] = [:]
    private var order: [String] = []

    public init() {}

    func create(accountSID: String, to: String, from: String, body: String, statusCallback: String?) -> SandboxMessage {
        let sid = "SM" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let message = SandboxMessage(
            sid: sid, accountSid: accountSID, to: to, from: from, body: body, status: "queued",
            numSegments: String(SandboxSegments.count(body)), direction: "outbound-api",
            dateCreated: Date().formatted(.dateTime.locale(Locale(identifier: "en_US_POSIX"))),
            errorCode: nil, errorMessage: nil, price: nil, priceUnit: "USD",
            uri: "/2010-04-01/Accounts/\(accountSID)/Messages/\(sid).json", statusCallback: statusCallback)
        messages[sid] = message
        order.append(sid)
        return message
    }

    /// One message by sid.
    public func message(sid: String) -> SandboxMessage? { messages[sid] }

    /// Every message accepted so far, oldest first.
    public func all() -> [SandboxMessage] { order.compactMap { messages[$0] } }
}

enum SandboxSegments {
    /// A rough count until the shared segment calculator exists: 160/153
    /// characters when every character is ASCII, else 70/67.
    static func count(_ body: String) -> Int {
        let ascii = body.unicodeScalars.allSatisfy { $0.isASCII }
        let (single, multi) = ascii ? (160, 153) : (70, 67)
        let length = ascii ? body.unicodeScalars.count : body.utf16.count
        return length <= single ? 1 : (length + multi - 1) / multi
    }
}

struct TwilioErrorBody: Encodable {
    let code: Int
    let message: String
    let moreInfo: String
    let status: Int

    static func response(_ status: Int, code: Int, message: String) -> Response {
        let body = TwilioErrorBody(
            code: code, message: message, moreInfo: "https://www.twilio.com/docs/errors/\(code)", status: status)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data = (try? encoder.encode(body)) ?? Data()
        return Response(
            status: .init(code: status), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

func isE164(_ text: String) -> Bool {
    let digits = text.dropFirst()
    return text.first == "+" && (8...15).contains(digits.count) && digits.first != "0" && digits.allSatisfy(\.isASCIIDigit)
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
