import Curl
import Foundation
import Hummingbird
import NIOCore
import Testing
import TestSupport

/// Remembers which client port each request came from, to observe keep-alive.
struct PeerContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerPort: Int?

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerPort = source.channel.remoteAddress?.port
    }
}

struct Echo: ResponseEncodable, Decodable {
    let method: String
    let authorization: String?
    let contentType: String?
    let custom: String?
    let body: String
}

/// A real HTTP server on a free port for the duration of `body`.
func withLocalServer(_ body: @Sendable (String) async throws -> Void) async throws {
    let router = Router(context: PeerContext.self)
    router.get("peer") { _, context in String(context.peerPort ?? -1) }
    router.post("echo") { request, context -> Response in
        var request = request
        let text = String(buffer: try await request.collectBody(upTo: 1 << 20))
        let echo = Echo(
            method: "\(request.method)", authorization: request.headers[.authorization],
            contentType: request.headers[.contentType], custom: request.headers[.init("X-Custom")!], body: text)
        var response = try echo.response(from: request, context: context)
        response.headers[.init("X-Echo")!] = "yes"
        return response
    }
    router.get("slow") { _, _ -> String in
        try await Task.sleep(for: .seconds(5))
        return "late"
    }
    let port = TestEnvironment.freePort()
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await app.run() }
        let client = CurlHTTPClient()
        _ = try await waitForHTTP("http://127.0.0.1:\(port)/peer", timeout: .seconds(10), client: client)
        await client.shutdown()
        do {
            try await body("http://127.0.0.1:\(port)")
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

@Suite("Curl HTTP client")
struct CurlHTTPClientTests {
    @Test("sequential requests reuse one kept-alive connection")
    func keepAliveReuse() async throws {
        try await withLocalServer { base in
            let client = CurlHTTPClient()
            defer { Task { await client.shutdown() } }
            var ports: Set<String> = []
            var newConnections: [Int] = []

            for _ in 0..<20 {
                let response = try await client.execute(HTTPClientRequest(url: base + "/peer"))
                ports.insert(response.bodyText)
                newConnections.append(response.newConnections)
            }

            #expect(ports.count == 1, "the server saw \(ports.count) client connections for 20 requests")
            #expect(newConnections.first == 1)
            #expect(newConnections.dropFirst().allSatisfy { $0 == 0 })
        }
    }

    @Test("a form POST carries basic auth and headers, and response headers come back")
    func formPostWithAuthAndHeaders() async throws {
        try await withLocalServer { base in
            let client = CurlHTTPClient()
            defer { Task { await client.shutdown() } }

            let response = try await client.execute(
                .form(
                    url: base + "/echo", fields: [("To", "+61412345678"), ("Body", "héllo & goodbye = 👋")],
                    headers: [("X-Custom", "custom value")], basicAuth: ("ACuser", "p@ss:word")))

            #expect(response.status == 200)
            #expect(response.header("x-echo") == "yes")
            let echo = try JSONDecoder().decode(Echo.self, from: Data(response.body))
            #expect(echo.method == "POST")
            #expect(echo.authorization == "Basic " + Data("ACuser:p@ss:word".utf8).base64EncodedString())
            #expect(echo.contentType == "application/x-www-form-urlencoded")
            #expect(echo.custom == "custom value")
            let fields = FormEncoding.decode(echo.body)
            #expect(fields.map(\.0) == ["To", "Body"])
            #expect(fields.map(\.1) == ["+61412345678", "héllo & goodbye = 👋"])
        }
    }

    @Test("a timeout after the request was sent says it may have reached the server")
    func timeoutAfterSendIsAmbiguous() async throws {
        try await withLocalServer { base in
            let client = CurlHTTPClient()
            defer { Task { await client.shutdown() } }

            let error = await #expect(throws: CurlError.self) {
                try await client.execute(HTTPClientRequest(url: base + "/slow", totalTimeout: .milliseconds(300)))
            }

            #expect(error?.delivery == .mayHaveBeenSent)
            #expect(error?.isTimeout == true)
        }
    }

    @Test("a refused connection says the request was certainly not sent")
    func refusedIsNotSent() async throws {
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }
        let port = TestEnvironment.freePort()

        let error = await #expect(throws: CurlError.self) {
            try await client.execute(.form(url: "http://127.0.0.1:\(port)/Messages.json", fields: [("Body", "x")]))
        }

        #expect(error?.delivery == .notSent)
        #expect(error?.isTimeout == false)
    }

    @Test("an unresolvable host says the request was certainly not sent")
    func unresolvableIsNotSent() async throws {
        let client = CurlHTTPClient(configuration: .init(connectTimeout: .seconds(3), totalTimeout: .seconds(5)))
        defer { Task { await client.shutdown() } }

        let error = await #expect(throws: CurlError.self) {
            try await client.execute(HTTPClientRequest(url: "http://no-such-host.invalid/"))
        }

        #expect(error?.delivery == .notSent)
    }

    @Test("non-HTTP schemes are refused before anything is sent")
    func otherSchemesRefused() async throws {
        let client = CurlHTTPClient()
        defer { Task { await client.shutdown() } }

        let error = await #expect(throws: CurlError.self) {
            try await client.execute(HTTPClientRequest(url: "file:///etc/passwd"))
        }

        #expect(error?.delivery == .notSent)
    }
}
