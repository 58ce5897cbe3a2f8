import Curl
import Foundation
import Hummingbird
import Logging
import SMSCore
import Synchronization
import TwilioSandbox

/// One request the receiver got: what a webhook handler would see.
struct ReceivedRequest: Sendable {
    /// The full URL as the sender addressed it (base + path + query).
    let url: String
    let parameters: [(String, String)]
    let signature: String?
    let idempotencyToken: String?
    let userAgent: String?

    func parameter(_ name: String) -> String? { parameters.first { $0.0 == name }?.1 }
}

/// What the receiver app has seen, in arrival order.
actor Recorder {
    private(set) var requests: [ReceivedRequest] = []

    func append(_ request: ReceivedRequest) { requests.append(request) }

    /// Waits until at least `count` requests matching `predicate` arrived, or the timeout passed.
    func wait(for count: Int, timeout: Duration = .seconds(10), where predicate: @Sendable (ReceivedRequest) -> Bool = { _ in true })
        async throws -> [ReceivedRequest]
    {
        let deadline = ContinuousClock.now + timeout
        while true {
            let matching = requests.filter(predicate)
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A running sandbox and a small receiver app that stands in for the API's webhooks.
struct SandboxHarness: Sendable {
    static let accountSID = "AC0123456789abcdef0123456789abcdef"
    static let authToken = "sandbox-test-token"

    let sandbox: TwilioSandbox
    /// `http://127.0.0.1:PORT` of the sandbox.
    let base: String
    /// `http://127.0.0.1:PORT` of the receiver.
    let receiverBase: String
    let recorder: Recorder
    let client: CurlHTTPClient

    var messagesURL: String { base + "/2010-04-01/Accounts/\(Self.accountSID)/Messages.json" }
    var auth: (username: String, password: String) { (Self.accountSID, Self.authToken) }

    /// `POST …/Messages.json` with the harness's credentials.
    func createMessage(_ fields: [(String, String)], totalTimeout: Duration? = nil) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest.form(url: messagesURL, fields: fields, basicAuth: auth)
        request.totalTimeout = totalTimeout
        return try await client.execute(request)
    }

    func get(_ pathAndQuery: String) async throws -> HTTPClientResponse {
        try await client.execute(HTTPClientRequest(url: base + pathAndQuery, basicAuth: auth))
    }

    func postJSON(_ path: String, _ json: String) async throws -> HTTPClientResponse {
        try await client.execute(
            HTTPClientRequest(method: "POST", url: base + path, headers: [("Content-Type", "application/json")], body: Array(json.utf8)))
    }
}

/// Starts a sandbox with `faults`, plus a receiver app that records every POST under
/// `/hooks/` and answers `/hooks/inbound` with TwiML, runs `body`, then stops both.
///
/// Both bind port 0 and report the port the kernel chose: ports picked in advance can be
/// taken by another test's server in between, since tests run in parallel.
func withSandbox(
    faults: SandboxFaults = SandboxFaults(), callbackDelay: Duration = .milliseconds(20), inboundPath: String? = nil,
    _ body: @Sendable (SandboxHarness) async throws -> Void
) async throws {
    var quiet = Logger(label: "sandbox-tests")
    quiet.logLevel = .critical  // cancelling the servers at the end logs errors that mean nothing here
    let recorder = Recorder()
    let (receiverPorts, receiverPortReady) = AsyncStream.makeStream(of: Int.self)
    let (sandboxPorts, sandboxPortReady) = AsyncStream.makeStream(of: Int.self)
    // The receiver's base URL is needed by its own handler, so it is filled in once known.
    let receiverBase = Mutex("")
    let router = Router()
    router.post("hooks/**") { request, _ -> Response in
        var request = request
        let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
        await recorder.append(
            ReceivedRequest(
                url: receiverBase.withLock { $0 } + request.uri.description, parameters: FormEncoding.decode(text),
                signature: request.headers[.init("X-Twilio-Signature")!],
                idempotencyToken: request.headers[.init("I-Twilio-Idempotency-Token")!],
                userAgent: request.headers[.userAgent]))
        if request.uri.path.hasSuffix("/inbound") {
            return Response(
                status: .ok, headers: [.contentType: "text/xml"],
                body: .init(byteBuffer: ByteBuffer(string: "<Response><Message>got it</Message></Response>")))
        }
        return Response(status: .ok)
    }
    let receiver = Application(
        router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { receiverPortReady.yield($0.localAddress?.port ?? 0) }, logger: quiet)

    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await receiver.run() }
        let client = CurlHTTPClient(configuration: .init(totalTimeout: .seconds(10)))
        do {
            let receiverPort = try await first(receiverPorts)
            let receiverURL = "http://127.0.0.1:\(receiverPort)"
            receiverBase.withLock { $0 = receiverURL }
            let sandbox = TwilioSandbox(
                configuration: .init(
                    accountSID: SandboxHarness.accountSID, authToken: SandboxHarness.authToken, port: 0, callbackDelay: callbackDelay,
                    callbackRetries: 2, inboundURL: inboundPath.map { receiverURL + $0 }, faults: faults),
                logger: quiet)
            let app = sandbox.buildApplication { sandboxPortReady.yield($0) }
            group.addTask { try await app.run() }
            let port = try await first(sandboxPorts)
            try await body(
                SandboxHarness(sandbox: sandbox, base: "http://127.0.0.1:\(port)", receiverBase: receiverURL, recorder: recorder, client: client))
        } catch {
            group.cancelAll()
            await client.shutdown()
            throw error
        }
        group.cancelAll()
        await client.shutdown()
    }
}

/// The first value of `stream`, or an error after 10 s.
func first(_ stream: AsyncStream<Int>) async throws -> Int {
    try await withThrowingTaskGroup(of: Int?.self) { group in
        group.addTask { await stream.first { _ in true } }
        group.addTask {
            try await Task.sleep(for: .seconds(10))
            return nil
        }
        defer { group.cancelAll() }
        guard let port = try await group.next() ?? nil, port > 0 else { throw HarnessError(description: "a server did not start within 10 s") }
        return port
    }
}

/// The JSON object of a response body.
func jsonObject(_ response: HTTPClientResponse) throws -> [String: Any] {
    guard let object = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any] else {
        throw JSONShapeError(text: response.bodyText)
    }
    return object
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

struct JSONShapeError: Error, CustomStringConvertible {
    let text: String
    var description: String { "not a JSON object: \(text)" }
}
