import Curl
import Foundation
import Testing
import TwilioSandbox

@Suite("Twilio sandbox: the admin message listing")
struct SandboxAdminMessagesTests {
    @Test("a to filter lists only the messages to that number")
    func filtersByRecipient() async throws {
        try await withSandbox { sandbox in
            try await sandbox.send(to: "+61412345678", body: "one")
            try await sandbox.send(to: "+61412345679", body: "other")
            try await sandbox.send(to: "+61412345678", body: "two")

            let page = try await sandbox.adminMessages("to=\(FormEncoding.escape("+61412345678"))")

            #expect(page.bodies == ["one", "two"])
        }
    }

    @Test("a to filter whose + arrived as a space (to=+614…) finds the number that was meant")
    func recipientWithUnescapedPlus() async throws {
        try await withSandbox { sandbox in
            try await sandbox.send(to: "+61412345678", body: "one")
            try await sandbox.send(to: "+61412345679", body: "other")

            let page = try await sandbox.adminMessages("to=+61412345678")

            #expect(page.bodies == ["one"])
        }
    }

    @Test("a from filter lists only the messages from that number")
    func filtersBySender() async throws {
        try await withSandbox { sandbox in
            try await sandbox.send(from: "+61400000001", body: "one")
            try await sandbox.send(from: "+61400000002", body: "other")
            try await sandbox.send(from: "+61400000001", body: "two")

            let page = try await sandbox.adminMessages("from=+61400000001")

            #expect(page.bodies == ["one", "two"])
        }
    }

    @Test("since, given a message's own created_at, lists that message and the ones after it")
    func filtersBySinceWithMilliseconds() async throws {
        try await withSandbox { sandbox in
            for body in ["before", "at", "after"] {
                try await sandbox.send(body: body)
                try await Task.sleep(for: .milliseconds(5))  // distinct milliseconds
            }
            let createdAt = try #require(try await sandbox.adminMessages("").messages[1]["created_at"] as? String)

            let page = try await sandbox.adminMessages("since=\(FormEncoding.escape(createdAt))")

            #expect(page.bodies == ["at", "after"])
        }
    }

    @Test("since also takes whole seconds and an offset, its + escaped or not")
    func filtersBySinceInWholeSeconds() async throws {
        try await withSandbox { sandbox in
            try await sandbox.send(body: "now")
            let sydney = Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: try #require(TimeZone(secondsFromGMT: 36_000)))
            let anHourAgo = Date().addingTimeInterval(-3600).formatted(sydney)
            let inAnHour = Date().addingTimeInterval(3600).formatted(Date.ISO8601FormatStyle())

            let fromAnHourAgo = try await sandbox.adminMessages("since=\(FormEncoding.escape(anHourAgo))")
            let unescaped = try await sandbox.adminMessages("since=\(anHourAgo)")
            let fromInAnHour = try await sandbox.adminMessages("since=\(inAnHour)")

            #expect(anHourAgo.hasSuffix("+10:00"))
            #expect(fromAnHourAgo.bodies == ["now"])
            #expect(unescaped.bodies == ["now"])
            #expect(fromInAnHour.bodies == [])
        }
    }

    @Test("paging with limit and next_cursor lists every message exactly once, oldest first")
    func pagingListsEveryMessageOnce() async throws {
        try await withSandbox { sandbox in
            let bodies = (1...7).map { "m\($0)" }
            for body in bodies { try await sandbox.send(body: body) }

            var seen: [String] = []
            var pageSizes: [Int] = []
            var cursor: String?
            repeat {
                let page = try await sandbox.adminMessages("limit=3" + (cursor.map { "&cursor=\(FormEncoding.escape($0))" } ?? ""))
                seen += page.bodies
                pageSizes.append(page.messages.count)
                cursor = page.nextCursor
            } while cursor != nil && pageSizes.count < 10

            #expect(seen == bodies)
            #expect(pageSizes == [3, 3, 1])
        }
    }

    @Test("messages created while a client pages appear once, on a later page")
    func pagingIsStableUnderInserts() async throws {
        try await withSandbox { sandbox in
            for body in ["m1", "m2", "m3"] { try await sandbox.send(body: body) }

            let first = try await sandbox.adminMessages("limit=2")
            try await sandbox.send(body: "m4")
            let second = try await sandbox.adminMessages("limit=2&cursor=\(FormEncoding.escape(try #require(first.nextCursor)))")

            #expect(first.bodies == ["m1", "m2"])
            #expect(second.bodies == ["m3", "m4"])
            #expect(second.nextCursor == nil)
        }
    }

    @Test("page_token is read as the cursor")
    func pageTokenIsTheCursor() async throws {
        try await withSandbox { sandbox in
            for body in ["m1", "m2"] { try await sandbox.send(body: body) }
            let first = try await sandbox.adminMessages("limit=1")

            let second = try await sandbox.adminMessages("limit=1&page_token=\(FormEncoding.escape(try #require(first.nextCursor)))")

            #expect(second.bodies == ["m2"])
        }
    }

    @Test("without a limit a page holds 100 messages")
    func defaultLimitIsOneHundred() async throws {
        try await withSandbox { sandbox in
            for index in 1...101 { try await sandbox.send(body: "m\(index)") }

            let page = try await sandbox.adminMessages("")

            #expect(page.messages.count == 100)
            #expect(page.nextCursor != nil)
        }
    }

    @Test("the last page's next_cursor is null")
    func lastPageHasNullCursor() async throws {
        try await withSandbox { sandbox in
            try await sandbox.send(body: "only")

            let response = try await sandbox.client.execute(HTTPClientRequest(url: sandbox.base + "/_sandbox/messages?limit=1"))

            #expect(try jsonObject(response)["next_cursor"] is NSNull)
        }
    }

    @Test("messages carry created_at, updated_at and sent_at in RFC 3339 with milliseconds, beside Twilio's RFC 2822 dates")
    func timestampsHaveMilliseconds() async throws {
        try await withSandbox(callbackDelay: .milliseconds(1)) { sandbox in
            try await sandbox.send(body: "hi")
            try await waitUntilSent(sandbox)

            let message = try #require(try await sandbox.adminMessages("").messages.first)

            let milliseconds = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/
            for field in ["created_at", "updated_at", "sent_at"] {
                let value = try #require(message[field] as? String, "\(field) is missing")
                #expect(value.wholeMatch(of: milliseconds) != nil, "\(field) \(value) has no milliseconds")
            }
            #expect((message["date_created"] as? String)?.hasSuffix(" +0000") == true)
        }
    }

    struct BadQuery: Sendable, CustomTestStringConvertible {
        let query: String
        let field: String
        var testDescription: String { query }
    }

    static let badQueries = [
        BadQuery(query: "limit=0", field: "limit"),
        BadQuery(query: "limit=1001", field: "limit"),
        BadQuery(query: "limit=ten", field: "limit"),
        BadQuery(query: "since=yesterday", field: "since"),
        BadQuery(query: "since=2026-11-25", field: "since"),
        BadQuery(query: "since=2026-11-25T16:31:10", field: "since"),
        BadQuery(query: "cursor=nonsense", field: "cursor"),
        BadQuery(query: "to=0412345678", field: "to"),
    ]

    @Test("a bad parameter answers 400 in the admin error shape, naming the parameter", arguments: badQueries)
    func badParameterIsRefused(_ testCase: BadQuery) async throws {
        try await withSandbox { sandbox in
            let response = try await sandbox.client.execute(HTTPClientRequest(url: sandbox.base + "/_sandbox/messages?" + testCase.query))

            #expect(response.status == 400)
            let error = try #require(try jsonObject(response)["error"] as? [String: Any])
            #expect(error["code"] as? String == "bad_request")
            #expect((error["details"] as? [[String: String]])?.map { $0["field"] } == [testCase.field])
        }
    }
}

/// One page of `GET /_sandbox/messages`.
struct AdminMessagesPage {
    let messages: [[String: Any]]
    let nextCursor: String?

    var bodies: [String] { messages.compactMap { $0["body"] as? String } }
}

extension SandboxHarness {
    /// Creates a message through the Messages API; fails the test unless it is accepted.
    func send(to: String = "+61412345678", from: String = "+61400000001", body: String) async throws {
        let response = try await createMessage([("To", to), ("From", from), ("Body", body)])
        guard response.status == 201 else { throw HarnessError(description: "create answered \(response.status): \(response.bodyText)") }
    }

    /// `GET /_sandbox/messages?query`; fails the test unless it answers 200.
    func adminMessages(_ query: String) async throws -> AdminMessagesPage {
        let response = try await client.execute(HTTPClientRequest(url: base + "/_sandbox/messages?" + query))
        guard response.status == 200 else { throw HarnessError(description: "listing answered \(response.status): \(response.bodyText)") }
        let json = try jsonObject(response)
        return AdminMessagesPage(messages: json["messages"] as? [[String: Any]] ?? [], nextCursor: json["next_cursor"] as? String)
    }
}

/// Waits until every message the sandbox holds has a send date (the first status callback step).
private func waitUntilSent(_ sandbox: SandboxHarness) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while await sandbox.sandbox.store.all().contains(where: { $0.dateSent == nil }) {
        guard ContinuousClock.now < deadline else { throw HarnessError(description: "no message was sent within 10 s") }
        try await Task.sleep(for: .milliseconds(5))
    }
}
