import Curl
import Foundation
import Logging
import SMSCore
import ServiceLifecycle
import Synchronization

/// What Twilio sends back to the application: status callbacks for each accepted
/// message, and inbound messages on demand. Both are form-encoded POSTs signed
/// with `X-Twilio-Signature` using the sandbox's auth token, exactly as Twilio
/// signs them, so the API's verifier is exercised for real.
///
/// A `Service`: message lifecycles run as child tasks of ``run()`` (so they end
/// with the application), and the HTTP client exists only while it runs.
public final class SandboxWebhooks: Service, Sendable {
    /// How a message's life ends, decided when it is accepted.
    enum Outcome: Sendable {
        /// sent, then delivered.
        case delivered
        /// sent, then undelivered with 30007 (the `undelivered_suffix` fault).
        case undelivered
        /// failed with 30008 without being sent (the `failed_suffix` fault).
        case failed
    }

    struct Lifecycle: Sendable {
        let sid: String
        let statusCallback: String?
        let outcome: Outcome
    }

    /// Why an inbound message could not be delivered.
    struct NotRunning: Error {}

    private let configuration: TwilioSandbox.Configuration
    private let store: SandboxMessageStore
    private let counters: SandboxCounters
    private let logger: Logger
    private let lifecycles: AsyncStream<Lifecycle>
    private let continuation: AsyncStream<Lifecycle>.Continuation
    private let client = Mutex<CurlHTTPClient?>(nil)
    private let started = Atomic(false)

    init(configuration: TwilioSandbox.Configuration, store: SandboxMessageStore, counters: SandboxCounters, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.store = store
        self.counters = counters
        (lifecycles, continuation) = AsyncStream.makeStream(of: Lifecycle.self)
    }

    /// Plays a message's status changes and callbacks in the background; the
    /// create request does not wait for them.
    func schedule(_ lifecycle: Lifecycle) {
        continuation.yield(lifecycle)
    }

    public func run() async throws {
        // A stream can be consumed once: a second application built from the same sandbox has nothing to run.
        guard started.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else {
            try await gracefulShutdown()
            return
        }
        let http = CurlHTTPClient(
            configuration: .init(
                maxConcurrentRequests: configuration.callbackConcurrency, connectTimeout: .seconds(5),
                totalTimeout: configuration.callbackTimeout,
                // Under a benchmark's load callbacks queue for a handle; waiting is right, failing is not.
                acquireTimeout: .seconds(600), userAgent: "TwilioProxy/1.1"))
        client.withLock { $0 = http }
        let lifecycles = self.lifecycles
        // Graceful shutdown cancels callbacks still waiting: nobody is left to need them.
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await lifecycle in lifecycles {
                    group.addTask { await self.play(lifecycle, using: http) }
                }
            }
        }
        client.withLock { $0 = nil }
        await http.shutdown()
    }

    // MARK: Status callbacks

    private func play(_ lifecycle: Lifecycle, using http: CurlHTTPClient) async {
        let delay = configuration.callbackDelay
        do {
            try await Task.sleep(for: delay)
            switch lifecycle.outcome {
            case .failed:
                let failed = await store.update(sid: lifecycle.sid, status: "failed", errorCode: 30008, errorMessage: "Unknown error")
                await notify(failed, url: lifecycle.statusCallback, using: http)
            case .delivered, .undelivered:
                guard let sent = await store.update(sid: lifecycle.sid, status: "sent") else { return }
                await notify(sent, url: lifecycle.statusCallback, using: http)
                try await Task.sleep(for: delay)
                let final =
                    lifecycle.outcome == .delivered
                    ? await store.update(sid: lifecycle.sid, status: "delivered")
                    : await store.update(sid: lifecycle.sid, status: "undelivered", errorCode: 30007, errorMessage: "Message filtered")
                await notify(final, url: lifecycle.statusCallback, using: http)
            }
        } catch {
            // Cancelled: the sandbox is stopping.
        }
    }

    /// Twilio's status callback parameters for the message's current status.
    static func statusParameters(_ message: SandboxMessage) -> [(String, String)] {
        var parameters: [(String, String)] = [
            ("AccountSid", message.accountSID), ("ApiVersion", "2010-04-01"), ("From", message.from),
            ("MessageSid", message.sid), ("MessageStatus", message.status), ("NumSegments", String(message.numSegments)),
            ("SmsSid", message.sid), ("SmsStatus", message.status), ("To", message.to),
        ]
        if let code = message.errorCode { parameters.append(("ErrorCode", String(code))) }
        if let service = message.messagingServiceSID { parameters.append(("MessagingServiceSid", service)) }
        return parameters
    }

    private func notify(_ message: SandboxMessage?, url: String?, using http: CurlHTTPClient) async {
        guard let message, let url else { return }
        // One token per event, repeated on retries, so the receiver can recognise a retry.
        let token = "\(message.sid)-\(message.status)-" + UUID().uuidString.lowercased()
        let parameters = Self.statusParameters(message)
        var attempt = 0
        while true {
            do {
                let response = try await http.execute(signedRequest(url: url, parameters: parameters, idempotencyToken: token))
                counters.increment((200..<300).contains(response.status) ? "callback.delivered" : "callback.rejected")
                if !(200..<300).contains(response.status) {
                    logger.notice("status callback refused", metadata: ["sid": "\(message.sid)", "http_status": "\(response.status)"])
                }
                return
            } catch {
                // Connection failures and timeouts are retried with the same token, as Twilio does.
                guard attempt < configuration.callbackRetries, !Task.isCancelled else {
                    counters.increment("callback.failed")
                    logger.warning("status callback not delivered", metadata: ["sid": "\(message.sid)", "error": "\(error)"])
                    return
                }
                attempt += 1
                counters.increment("callback.retried")
                do { try await Task.sleep(for: .milliseconds(100 << min(attempt, 6))) } catch { return }
            }
        }
    }

    private func signedRequest(url: String, parameters: [(String, String)], idempotencyToken: String) -> HTTPClientRequest {
        let signature = TwilioSignature.sign(url: url, parameters: parameters, authToken: configuration.authToken)
        let headers: [(name: String, value: String)] = [
            (TwilioSignature.header, signature), ("I-Twilio-Idempotency-Token", idempotencyToken),
        ]
        return .form(url: url, fields: parameters, headers: headers)
    }

    // MARK: Inbound

    /// Stores an inbound message and posts it to `url` as Twilio would; returns
    /// the webhook's answer. One attempt: the caller sees what happened.
    func deliverInbound(from: String, to: String, body: String, url: String) async throws -> (SandboxMessage, HTTPClientResponse) {
        guard let http = client.withLock({ $0 }) else { throw NotRunning() }
        let now = Date()
        let message = SandboxMessage(
            sid: SandboxMessage.newSID(), accountSID: configuration.accountSID, to: to, from: from, messagingServiceSID: nil,
            body: body, status: "received", numSegments: MessageSegments.calculate(body).segments, direction: "inbound",
            dateCreated: now, dateUpdated: now, dateSent: now, errorCode: nil, errorMessage: nil, statusCallback: nil)
        await store.insert(message)
        let parameters: [(String, String)] = [
            ("AccountSid", message.accountSID), ("ApiVersion", "2010-04-01"), ("Body", body), ("From", from),
            ("MessageSid", message.sid), ("NumMedia", "0"), ("NumSegments", String(message.numSegments)),
            ("SmsMessageSid", message.sid), ("SmsSid", message.sid), ("SmsStatus", "received"), ("To", to),
        ]
        do {
            let request = signedRequest(url: url, parameters: parameters, idempotencyToken: UUID().uuidString.lowercased())
            let response = try await http.execute(request)
            counters.increment("inbound.delivered")
            return (message, response)
        } catch {
            counters.increment("inbound.failed")
            throw error
        }
    }
}
