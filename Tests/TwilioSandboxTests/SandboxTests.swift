import Curl
import Foundation
import SMSCore
import Testing
import TwilioSandbox

@Suite("Twilio sandbox: Messages API")
struct SandboxMessagesAPITests {
    @Test("creating a message answers 201 with Twilio's message JSON")
    func createAnswersTwilioJSON() async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "Hello there")])

            #expect(response.status == 201)
            #expect(response.header("Content-Type") == "application/json")
            let json = try jsonObject(response)
            let sid = try #require(json["sid"] as? String)
            #expect(sid.hasPrefix("SM") && sid.count == 34)
            #expect(json["account_sid"] as? String == SandboxHarness.accountSID)
            #expect(json["to"] as? String == "+61412345678")
            #expect(json["from"] as? String == "+61400000001")
            #expect(json["body"] as? String == "Hello there")
            #expect(json["status"] as? String == "queued")
            #expect(json["num_segments"] as? String == "1")
            #expect(json["direction"] as? String == "outbound-api")
            #expect(json["api_version"] as? String == "2010-04-01")
            #expect(json["uri"] as? String == "/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages/\(sid).json")
            #expect(json["error_code"] is NSNull)
            #expect(json["date_sent"] is NSNull)
            let created = try #require(json["date_created"] as? String)
            #expect(created.hasSuffix(" +0000") && created.count == 31, "\(created) is not RFC 2822")
        }
    }

    @Test("num_segments follows the shared segment calculator")
    func segmentsMatchCalculator() async throws {
        try await withSandbox { sandbox in
            let bodies = [String(repeating: "a", count: 161), "ж" + String(repeating: "a", count: 99), String(repeating: "€", count: 81)]

            for body in bodies {
                let response = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", body)])

                #expect(try jsonObject(response)["num_segments"] as? String == String(MessageSegments.calculate(body).segments))
            }
        }
    }

    @Test("a wrong password, a missing one, or another account's path answers 401 with code 20003")
    func wrongAuthIsRefused() async throws {
        try await withSandbox { sandbox in
            let fields = [("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")]
            let wrongPassword = try await sandbox.client.execute(
                .form(url: sandbox.messagesURL, fields: fields, basicAuth: (SandboxHarness.accountSID, "wrong")))
            let noAuth = try await sandbox.client.execute(.form(url: sandbox.messagesURL, fields: fields))
            let otherAccount = try await sandbox.client.execute(
                .form(
                    url: sandbox.base + "/2010-04-01/Accounts/AC99999999999999999999999999999999/Messages.json", fields: fields,
                    basicAuth: sandbox.auth))

            for response in [wrongPassword, noAuth, otherAccount] {
                #expect(response.status == 401)
                #expect(try jsonObject(response)["code"] as? Int == 20003)
            }
            #expect(await sandbox.sandbox.store.count == 0)
        }
    }

    struct InvalidCase: Sendable, CustomTestStringConvertible {
        let label: String
        let fields: [(String, String)]
        let code: Int
        var testDescription: String { label }
    }

    static let invalidRequests: [InvalidCase] = [
        InvalidCase(label: "missing To", fields: [("From", "+61400000001"), ("Body", "x")], code: 21604),
        InvalidCase(label: "malformed To", fields: [("To", "0412345678"), ("From", "+61400000001"), ("Body", "x")], code: 21211),
        InvalidCase(label: "missing From", fields: [("To", "+61412345678"), ("Body", "x")], code: 21603),
        InvalidCase(label: "missing Body", fields: [("To", "+61412345678"), ("From", "+61400000001")], code: 21602),
        InvalidCase(
            label: "Body over 1600", fields: [("To", "+61412345678"), ("From", "+61400000001"), ("Body", String(repeating: "a", count: 1601))],
            code: 21617),
        InvalidCase(
            label: "StatusCallback not http", fields: [("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x"), ("StatusCallback", "ftp://x")],
            code: 21609),
    ]

    @Test("invalid requests answer 400 with Twilio's codes", arguments: invalidRequests)
    func invalidRequestsAreRefused(_ testCase: InvalidCase) async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.createMessage(testCase.fields)

            #expect(response.status == 400)
            #expect(try jsonObject(response)["code"] as? Int == testCase.code)
            #expect(await sandbox.sandbox.store.count == 0)
        }
    }

    @Test("a leading + sent unescaped (curl -d To=+61…) is read as the number that was meant")
    func unescapedPlusIsAccepted() async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.client.execute(
                HTTPClientRequest(
                    method: "POST", url: sandbox.messagesURL, headers: [("Content-Type", "application/x-www-form-urlencoded")],
                    body: Array("To=+61412345678&From=+61400000001&Body=hi".utf8), basicAuth: sandbox.auth))

            #expect(response.status == 201)
            #expect(try jsonObject(response)["to"] as? String == "+61412345678")
            #expect(try jsonObject(response)["from"] as? String == "+61400000001")
        }
    }

    @Test("a message can be fetched by sid, and an unknown sid answers 404 / 20404")
    func fetchBySid() async throws {
        try await withSandbox { sandbox in
            let created = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "hi")])
            let sid = try #require(try jsonObject(created)["sid"] as? String)

            let found = try await sandbox.get("/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages/\(sid).json")
            let missing = try await sandbox.get("/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages/SMnope.json")

            #expect(found.status == 200)
            #expect(try jsonObject(found)["sid"] as? String == sid)
            #expect(missing.status == 404)
            #expect(try jsonObject(missing)["code"] as? Int == 20404)
        }
    }
}

@Suite("Twilio sandbox: status callbacks")
struct SandboxCallbackTests {
    @Test("callbacks for sent then delivered arrive, signed over the StatusCallback URL as given")
    func sentThenDelivered() async throws {
        try await withSandbox { sandbox in
            let callback = sandbox.receiverBase + "/hooks/status?job=42&tenant=a%20b"
            let created = try await sandbox.createMessage([
                ("To", "+61412345678"), ("From", "+61400000001"), ("Body", "Hello"), ("StatusCallback", callback),
            ])
            let sid = try #require(try jsonObject(created)["sid"] as? String)

            let callbacks = try await sandbox.recorder.wait(for: 2)

            #expect(callbacks.map { $0.parameter("MessageStatus") } == ["sent", "delivered"])
            for request in callbacks {
                #expect(request.url == callback)
                let signature = try #require(request.signature)
                #expect(TwilioSignature.isValid(signature: signature, url: callback, parameters: request.parameters, authToken: SandboxHarness.authToken))
                #expect(!TwilioSignature.isValid(signature: signature, url: callback, parameters: request.parameters, authToken: "other"))
                #expect(request.parameter("MessageSid") == sid)
                #expect(request.parameter("SmsSid") == sid)
                #expect(request.parameter("SmsStatus") == request.parameter("MessageStatus"))
                #expect(request.parameter("AccountSid") == SandboxHarness.accountSID)
                #expect(request.parameter("From") == "+61400000001")
                #expect(request.parameter("To") == "+61412345678")
                #expect(request.parameter("ApiVersion") == "2010-04-01")
                #expect(request.parameter("NumSegments") == "1")
                #expect(request.parameter("ErrorCode") == nil)
                #expect(request.idempotencyToken?.isEmpty == false)
                #expect(request.userAgent?.hasPrefix("TwilioProxy/") == true)
            }
            #expect(Set(callbacks.compactMap(\.idempotencyToken)).count == 2)
            let stored = await sandbox.sandbox.store.message(sid: sid)
            #expect(stored?.status == "delivered")
            #expect(stored?.dateSent != nil)
        }
    }

    @Test("a recipient with the undelivered suffix ends undelivered with ErrorCode 30007")
    func undeliveredSuffix() async throws {
        try await withSandbox(faults: SandboxFaults(undeliveredSuffix: "0007")) { sandbox in
            let callback = sandbox.receiverBase + "/hooks/status"
            let created = try await sandbox.createMessage([
                ("To", "+61412340007"), ("From", "+61400000001"), ("Body", "Hello"), ("StatusCallback", callback),
            ])
            let sid = try #require(try jsonObject(created)["sid"] as? String)

            let callbacks = try await sandbox.recorder.wait(for: 2)

            #expect(created.status == 201)
            #expect(callbacks.map { $0.parameter("MessageStatus") } == ["sent", "undelivered"])
            #expect(callbacks.last?.parameter("ErrorCode") == "30007")
            let stored = await sandbox.sandbox.store.message(sid: sid)
            #expect(stored?.status == "undelivered")
            #expect(stored?.errorCode == 30007)
        }
    }

    @Test("a recipient with the failed suffix ends failed with ErrorCode 30008 and no sent callback")
    func failedSuffix() async throws {
        try await withSandbox(faults: SandboxFaults(failedSuffix: "99")) { sandbox in
            _ = try await sandbox.createMessage([
                ("To", "+61412345699"), ("From", "+61400000001"), ("Body", "Hello"), ("StatusCallback", sandbox.receiverBase + "/hooks/s"),
            ])

            let callbacks = try await sandbox.recorder.wait(for: 1)
            try await Task.sleep(for: .milliseconds(100))

            #expect(await sandbox.recorder.requests.map { $0.parameter("MessageStatus") } == ["failed"])
            #expect(callbacks.first?.parameter("ErrorCode") == "30008")
        }
    }

    @Test("without a StatusCallback the message still moves on to delivered")
    func lifecycleWithoutCallback() async throws {
        try await withSandbox { sandbox in
            let created = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "Hello")])
            let sid = try #require(try jsonObject(created)["sid"] as? String)

            let deadline = ContinuousClock.now + .seconds(5)
            while await sandbox.sandbox.store.message(sid: sid)?.status != "delivered", ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }

            #expect(await sandbox.sandbox.store.message(sid: sid)?.status == "delivered")
            #expect(await sandbox.recorder.requests.isEmpty)
        }
    }

    @Test("a callback that cannot connect is retried, then counted as failed")
    func unreachableCallbackIsRetried() async throws {
        try await withSandbox { sandbox in
            // Nothing listens on port 1, and unlike a "free" port no other test can take it meanwhile.
            let nowhere = "http://127.0.0.1:1/status"
            _ = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x"), ("StatusCallback", nowhere)])

            let deadline = ContinuousClock.now + .seconds(10)
            while sandbox.sandbox.counters.value("callback.failed") < 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }

            #expect(sandbox.sandbox.counters.value("callback.failed") == 2)  // sent and delivered, each given up
            #expect(sandbox.sandbox.counters.value("callback.retried") == 4)  // two retries each
        }
    }
}

@Suite("Twilio sandbox: fault injection")
struct SandboxFaultTests {
    struct MagicCase: Sendable, CustomTestStringConvertible {
        let to: String
        let code: Int
        var testDescription: String { "\(to) → \(code)" }
    }

    static let magicNumbers = [
        MagicCase(to: "+15005550001", code: 21211), MagicCase(to: "+15005550002", code: 21612),
        MagicCase(to: "+15005550003", code: 21408), MagicCase(to: "+15005550004", code: 21610),
        MagicCase(to: "+15005550009", code: 21614),
    ]

    @Test("Twilio's magic recipients answer 400 with their documented codes", arguments: magicNumbers)
    func magicNumber(_ testCase: MagicCase) async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.createMessage([("To", testCase.to), ("From", "+15005550006"), ("Body", "x")])

            #expect(response.status == 400)
            let json = try jsonObject(response)
            #expect(json["code"] as? Int == testCase.code)
            #expect(json["status"] as? Int == 400)
            #expect(json["more_info"] as? String == "https://www.twilio.com/docs/errors/\(testCase.code)")
            #expect((json["message"] as? String)?.isEmpty == false)
            #expect(await sandbox.sandbox.store.count == 0)
        }
    }

    @Test("magic numbers are ordinary recipients when the fault is off")
    func magicNumbersOff() async throws {
        try await withSandbox(faults: SandboxFaults(magicNumbers: false)) { sandbox in
            let response = try await sandbox.createMessage([("To", "+15005550004"), ("From", "+15005550006"), ("Body", "x")])

            #expect(response.status == 201)
        }
    }

    @Test("a 429 rate of 1 refuses every create with 429 / 20429 and stores nothing")
    func rateLimited() async throws {
        try await withSandbox(faults: SandboxFaults(rateLimitedRate: 1)) { sandbox in
            let response = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")])

            #expect(response.status == 429)
            let json = try jsonObject(response)
            #expect(json["code"] as? Int == 20429)
            #expect(json["status"] as? Int == 429)
            #expect(await sandbox.sandbox.store.count == 0)
            #expect(sandbox.sandbox.counters.value("create.rate_limited") == 1)
        }
    }

    @Test("a 500 rate of 1 answers 500 / 20500 and stores nothing")
    func serverErrors() async throws {
        try await withSandbox(faults: SandboxFaults(serverErrorRate: 1)) { sandbox in
            let response = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")])

            #expect(response.status == 500)
            #expect(try jsonObject(response)["code"] as? Int == 20500)
            #expect(await sandbox.sandbox.store.count == 0)
        }
    }

    @Test("added latency delays the answer")
    func latency() async throws {
        try await withSandbox(faults: SandboxFaults(latencyMilliseconds: 300)) { sandbox in
            let start = ContinuousClock.now
            let response = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")])

            #expect(response.status == 201)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    @Test("a hung create times the client out as possibly sent, and the list by To then finds the message")
    func hangLeavesAmbiguousSendThatListFinds() async throws {
        try await withSandbox(faults: SandboxFaults(hangRate: 1, hangSeconds: 3)) { sandbox in
            let client = CurlHTTPClient(configuration: .init(totalTimeout: .milliseconds(400)))
            defer { Task { await client.shutdown() } }

            let error = await #expect(throws: CurlError.self) {
                try await client.execute(
                    .form(
                        url: sandbox.messagesURL, fields: [("To", "+61412345678"), ("From", "+61400000001"), ("Body", "ambiguous")],
                        basicAuth: sandbox.auth))
            }
            let list = try await sandbox.get(
                "/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages.json?To=\(FormEncoding.escape("+61412345678"))")

            #expect(error?.delivery == .mayHaveBeenSent)
            #expect(error?.isTimeout == true)
            #expect(list.status == 200)
            let messages = try #require(try jsonObject(list)["messages"] as? [[String: Any]])
            #expect(messages.count == 1)
            #expect(messages.first?["body"] as? String == "ambiguous")
            #expect(sandbox.sandbox.counters.value("create.hung") == 1)
        }
    }

    @Test("faults change at runtime through /_sandbox/faults and DELETE restores the start-up ones")
    func adminFaults() async throws {
        try await withSandbox(faults: SandboxFaults(undeliveredSuffix: "7")) { sandbox in
            let changed = try await sandbox.postJSON("/_sandbox/faults", #"{"rate_429": 1, "latency_ms": 5, "undelivered_suffix": null}"#)
            let refused = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")])
            let shown = try await sandbox.client.execute(HTTPClientRequest(url: sandbox.base + "/_sandbox/faults"))
            let reset = try await sandbox.client.execute(HTTPClientRequest(method: "DELETE", url: sandbox.base + "/_sandbox/faults"))
            let accepted = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "x")])

            #expect(changed.status == 200)
            #expect(refused.status == 429)
            let json = try jsonObject(shown)
            #expect(json["rate_429"] as? Double == 1)
            #expect(json["latency_ms"] as? Int == 5)
            #expect(json["undelivered_suffix"] is NSNull)
            #expect(json["magic_numbers"] as? Bool == true)
            #expect(reset.status == 200)
            #expect(try jsonObject(reset)["undelivered_suffix"] as? String == "7")
            #expect(accepted.status == 201)
        }
    }

    @Test("an unknown fault or an out-of-range rate is refused with 422 naming the field")
    func adminFaultsValidation() async throws {
        try await withSandbox { sandbox in
            let unknown = try await sandbox.postJSON("/_sandbox/faults", #"{"rate_428": 1}"#)
            let outOfRange = try await sandbox.postJSON("/_sandbox/faults", #"{"rate_500": 1.5}"#)
            let notJSON = try await sandbox.postJSON("/_sandbox/faults", "rate=1")

            #expect(unknown.status == 422)
            #expect(unknown.bodyText.contains("rate_428"))
            #expect(outOfRange.status == 422)
            #expect(outOfRange.bodyText.contains("rate_500"))
            #expect(notJSON.status == 400)
            #expect(sandbox.sandbox.faults.current == SandboxFaults())
        }
    }
}

@Suite("Twilio sandbox: listing, inbound, admin")
struct SandboxListAndAdminTests {
    @Test("the list filters by To and From and pages newest first with next_page_uri")
    func listFiltersAndPages() async throws {
        try await withSandbox { sandbox in
            for index in 1...3 {
                _ = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "m\(index)")])
            }
            _ = try await sandbox.createMessage([("To", "+61412345679"), ("From", "+61400000001"), ("Body", "other")])
            _ = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000002"), ("Body", "other sender")])
            let path = "/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages.json"
            let query = "?To=\(FormEncoding.escape("+61412345678"))&From=\(FormEncoding.escape("+61400000001"))&PageSize=2"

            let first = try jsonObject(try await sandbox.get(path + query))
            let next = try #require(first["next_page_uri"] as? String)
            let second = try jsonObject(try await sandbox.get(next))

            #expect((first["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["m3", "m2"])
            #expect(first["page"] as? Int == 0)
            #expect(first["page_size"] as? Int == 2)
            #expect(first["previous_page_uri"] is NSNull)
            #expect((first["first_page_uri"] as? String)?.hasPrefix(path + "?") == true)
            #expect(next.contains("To=%2B61412345678"))
            #expect((second["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["m1"])
            #expect(second["page"] as? Int == 1)
            #expect(second["next_page_uri"] is NSNull)
        }
    }

    @Test("the list understands Twilio's DateSent, DateSent< and DateSent> filters")
    func listDateFilters() async throws {
        try await withSandbox { sandbox in
            _ = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "today")])
            let path = "/2010-04-01/Accounts/\(SandboxHarness.accountSID)/Messages.json?"
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let tomorrow = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(86_400)).prefix(10))
            let yesterday = String(ISO8601DateFormatter().string(from: Date().addingTimeInterval(-86_400)).prefix(10))
            let anHourAgo = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-3600))
            func count(_ query: String) async throws -> Int? {
                (try jsonObject(try await sandbox.get(path + query))["messages"] as? [[String: Any]])?.count
            }

            #expect(try await count("DateSent=\(today)") == 1)
            #expect(try await count("DateSent=\(yesterday)") == 0)
            #expect(try await count("DateSent%3E=\(today)") == 1)
            #expect(try await count("DateSent%3E=\(tomorrow)") == 0)
            #expect(try await count("DateSent%3C=\(yesterday)") == 0)
            #expect(try await count("DateSent%3C=\(today)") == 1)
            #expect(try await count("DateSent%3E=\(FormEncoding.escape(anHourAgo))") == 1)
            #expect(try await sandbox.get(path + "DateSent=yesterday").status == 400)
        }
    }

    @Test("an inbound message is posted signed to the webhook, and its answer comes back")
    func inboundIsSignedAndDelivered() async throws {
        try await withSandbox(inboundPath: "/hooks/inbound") { sandbox in
            let response = try await sandbox.postJSON("/_sandbox/inbound", #"{"from": "+61412345678", "to": "+61400000001", "body": "STOP"}"#)

            #expect(response.status == 200)
            let json = try jsonObject(response)
            #expect(json["status"] as? Int == 200)
            #expect(json["body"] as? String == "<Response><Message>got it</Message></Response>")
            #expect(json["content_type"] as? String == "text/xml")
            let received = try #require(await sandbox.recorder.requests.first)
            #expect(received.url == sandbox.receiverBase + "/hooks/inbound")
            let signature = try #require(received.signature)
            #expect(TwilioSignature.isValid(signature: signature, url: received.url, parameters: received.parameters, authToken: SandboxHarness.authToken))
            #expect(received.parameter("Body") == "STOP")
            #expect(received.parameter("From") == "+61412345678")
            #expect(received.parameter("To") == "+61400000001")
            #expect(received.parameter("NumMedia") == "0")
            #expect(received.parameter("AccountSid") == SandboxHarness.accountSID)
            #expect(received.parameter("MessageSid") == json["sid"] as? String)
            #expect(received.parameter("SmsSid") == json["sid"] as? String)
            #expect(received.idempotencyToken?.isEmpty == false)
        }
    }

    @Test("an inbound message goes to the url given in the request over the default one")
    func inboundExplicitURL() async throws {
        try await withSandbox { sandbox in
            let url = sandbox.receiverBase + "/hooks/elsewhere?tenant=1"
            let response = try await sandbox.postJSON(
                "/_sandbox/inbound", #"{"from": "+61412345678", "to": "+61400000001", "body": "hi", "url": "\#(url)"}"#)

            #expect(response.status == 200)
            let received = try #require(await sandbox.recorder.requests.first)
            #expect(received.url == url)
            #expect(TwilioSignature.isValid(signature: received.signature ?? "", url: url, parameters: received.parameters, authToken: SandboxHarness.authToken))
        }
    }

    @Test("an inbound message without a url and without SANDBOX_INBOUND_URL is refused with 422")
    func inboundNeedsURL() async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.postJSON("/_sandbox/inbound", #"{"from": "+61412345678", "to": "+61400000001", "body": "hi"}"#)

            #expect(response.status == 422)
            #expect(response.bodyText.contains("url"))
        }
    }

    @Test("/_sandbox/messages lists everything and /_sandbox/stats counts by status and outcome")
    func messagesAndStats() async throws {
        try await withSandbox(faults: SandboxFaults(magicNumbers: true)) { sandbox in
            _ = try await sandbox.createMessage([("To", "+61412345678"), ("From", "+61400000001"), ("Body", "one")])
            _ = try await sandbox.createMessage([("To", "+61412345679"), ("From", "+61400000001"), ("Body", "two")])
            _ = try await sandbox.createMessage([("To", "+15005550001"), ("From", "+61400000001"), ("Body", "magic")])

            let messages = try jsonObject(try await sandbox.client.execute(HTTPClientRequest(url: sandbox.base + "/_sandbox/messages")))
            let stats = try jsonObject(try await sandbox.client.execute(HTTPClientRequest(url: sandbox.base + "/_sandbox/stats")))
            let cleared = try await sandbox.client.execute(HTTPClientRequest(method: "DELETE", url: sandbox.base + "/_sandbox/messages"))

            #expect((messages["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["one", "two"])
            let counts = try #require(stats["messages"] as? [String: Any])
            #expect(counts["total"] as? Int == 2)
            let counters = try #require(stats["counters"] as? [String: Int])
            #expect(counters["create.accepted"] == 2)
            #expect(counters["create.magic_number"] == 1)
            #expect(cleared.status == 204)
            #expect(await sandbox.sandbox.store.count == 0)
        }
    }
}
