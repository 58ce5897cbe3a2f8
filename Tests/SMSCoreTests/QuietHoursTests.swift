import Foundation
import SMSCore
import Testing

/// `2026-07-01T22:30:00` in `zone`, as an instant.
func local(_ text: String, _ zone: String) -> Date {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: zone)!
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss"
    return formatter.date(from: text)!
}

func utc(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

@Suite("Quiet hours")
struct QuietHoursTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let zone: String
        let now: String  // local time in zone
        let window: QuietHours
        /// The expected opening as a UTC instant, or nil when sending is allowed.
        let opening: String?
        var testDescription: String { "\(now) in \(zone)" }
    }

    static let cases: [Case] = [
        // Default 21:00–09:00.
        Case(zone: "Australia/Sydney", now: "2026-07-01T12:00:00", window: .standard, opening: nil),
        Case(zone: "Australia/Sydney", now: "2026-07-01T21:00:00", window: .standard, opening: "2026-07-01T23:00:00Z"),  // 09:00 AEST
        Case(zone: "Australia/Sydney", now: "2026-07-02T08:59:00", window: .standard, opening: "2026-07-01T23:00:00Z"),
        Case(zone: "Australia/Sydney", now: "2026-07-02T09:00:00", window: .standard, opening: nil),
        // Half-hour and quarter-hour zones.
        Case(zone: "Australia/Lord_Howe", now: "2026-07-01T22:00:00", window: .standard, opening: "2026-07-01T22:30:00Z"),  // +10:30 in winter
        Case(zone: "Asia/Kathmandu", now: "2026-07-01T23:00:00", window: .standard, opening: "2026-07-02T03:15:00Z"),  // +05:45
        Case(zone: "America/St_Johns", now: "2026-07-01T06:00:00", window: .standard, opening: "2026-07-01T11:30:00Z"),  // NDT −02:30
        // A window that does not wrap midnight.
        Case(zone: "Europe/London", now: "2026-07-01T13:30:00", window: QuietHours(start: 13 * 60, end: 14 * 60), opening: "2026-07-01T13:00:00Z"),
        Case(zone: "Europe/London", now: "2026-07-01T14:00:00", window: QuietHours(start: 13 * 60, end: 14 * 60), opening: nil),
        // DST: New York springs forward at 02:00 on 2026-03-08; a 02:30 opening does not exist that day.
        Case(zone: "America/New_York", now: "2026-03-08T01:00:00", window: QuietHours(start: 22 * 60, end: 2 * 60 + 30), opening: "2026-03-08T07:00:00Z"),
        // DST: New York falls back at 02:00 on 2026-11-01; 01:30 happens twice: the first one counts.
        Case(zone: "America/New_York", now: "2026-11-01T00:30:00", window: QuietHours(start: 22 * 60, end: 90), opening: "2026-11-01T05:30:00Z"),
        // Lord Howe moves by half an hour on 2026-10-04 at 02:00 (to 02:30).
        Case(zone: "Australia/Lord_Howe", now: "2026-10-04T01:00:00", window: QuietHours(start: 22 * 60, end: 2 * 60 + 15), opening: "2026-10-03T15:30:00Z"),
    ]

    @Test("the window opens at the right instant in every zone, across DST changes", arguments: cases)
    func openings(testCase: Case) throws {
        let zone = try #require(TimeZone(identifier: testCase.zone))
        let now = local(testCase.now, testCase.zone)

        let opening = testCase.window.nextOpening(after: now, in: zone)

        #expect(opening == testCase.opening.map(utc), "\(testCase.testDescription)")
    }

    @Test("the opening is always after now and the window is never quiet there", arguments: ["Australia/Lord_Howe", "Asia/Kathmandu", "America/St_Johns", "Europe/London", "Pacific/Chatham"])
    func openingIsOpen(zone name: String) throws {
        let zone = try #require(TimeZone(identifier: name))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var now = utc("2026-01-01T00:00:00Z")
        // Every 7 hours 13 minutes through a year: every offset and both DST changes.
        while now < utc("2027-01-01T00:00:00Z") {
            if let opening = QuietHours.standard.nextOpening(after: now, in: zone) {
                #expect(opening > now)
                #expect(opening.timeIntervalSince(now) <= 13 * 3600)
                let parts = calendar.dateComponents([.hour, .minute], from: opening)
                #expect(!QuietHours.standard.isQuiet(minuteOfDay: (parts.hour ?? 0) * 60 + (parts.minute ?? 0)))
            }
            now = now.addingTimeInterval(7 * 3600 + 13 * 60)
        }
    }
}
