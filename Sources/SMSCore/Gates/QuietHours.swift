import Foundation

/// A daily quiet window in the recipient's local time, in minutes after
/// midnight: quiet from `start` (inclusive) to `end` (exclusive), wrapping past
/// midnight when `start > end` (the default, 21:00–09:00).
public struct QuietHours: Sendable, Equatable {
    public var start: Int
    public var end: Int

    public init(start: Int, end: Int) {
        precondition((0..<1440).contains(start) && (0..<1440).contains(end) && start != end, "invalid quiet window")
        self.start = start
        self.end = end
    }

    /// 21:00–09:00, when neither the campaign nor the tenant sets a window.
    public static let standard = QuietHours(start: 21 * 60, end: 9 * 60)

    /// Whether a local wall-clock minute falls in the quiet window.
    public func isQuiet(minuteOfDay minute: Int) -> Bool {
        start < end ? (minute >= start && minute < end) : (minute >= start || minute < end)
    }

    /// nil when sending is allowed at `now` in `zone`; otherwise the first
    /// instant the window opens (local `end` o'clock).
    ///
    /// DST: a local opening time that does not exist that day (spring-forward
    /// gap) opens at the first valid instant after the gap; one that happens
    /// twice (fall-back overlap) opens at its first occurrence.
    public func nextOpening(after now: Date, in zone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.hour, .minute], from: now)
        let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
        guard isQuiet(minuteOfDay: minute) else { return nil }
        // The opening is today at `end` if that is still ahead, else tomorrow.
        let startOfToday = calendar.startOfDay(for: now)
        for dayOffset in 0...2 {
            guard let day = calendar.date(byAdding: .day, value: dayOffset, to: startOfToday) else { continue }
            let opening = Self.instant(localMinute: end, on: day, calendar: calendar)
            if opening > now { return opening }
        }
        return now.addingTimeInterval(24 * 3600)
    }

    /// The instant of a local wall-clock time on a given local day, resolving
    /// DST gaps to the instant the gap ends and overlaps to the earlier instant.
    ///
    /// Done by hand from the zone's transitions: Foundation's `nextDate`
    /// matching policies resolve half-hour gaps (Lord Howe) an hour late.
    static func instant(localMinute: Int, on day: Date, calendar: Calendar) -> Date {
        let zone = calendar.timeZone
        let startOfDay = calendar.startOfDay(for: day)
        let before = zone.secondsFromGMT(for: startOfDay)
        // Where the wall time would be if the offset stayed as it was at midnight.
        let naive = startOfDay.addingTimeInterval(Double(localMinute * 60))
        guard let transition = zone.nextDaylightSavingTimeTransition(after: startOfDay), transition <= naive else {
            return naive
        }
        let delta = Double(zone.secondsFromGMT(for: transition) - before)
        if delta > 0 {
            // Spring forward: wall times in [transition, transition + delta) do not exist.
            let wallOfTransition = transition.timeIntervalSince(startOfDay)
            return Double(localMinute * 60) < wallOfTransition + delta ? transition : naive.addingTimeInterval(-delta)
        }
        // Fall back: naive is already the first occurrence unless it lies past the transition.
        return naive < transition ? naive : naive.addingTimeInterval(-delta)
    }
}
