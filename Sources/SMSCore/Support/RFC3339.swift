import Foundation

/// RFC 3339 in UTC with milliseconds (2026-11-25T16:31:10.698Z), rounded to the
/// nearest millisecond by integer arithmetic: Foundation's formatter truncates
/// the binary fraction, so .988 could come out as .987 and a timestamp the API
/// wrote would not read back as the same one.
///
/// Shared by the API's JSON and the sandbox's admin listing, so both write the
/// same instant the same way.
public func rfc3339(_ date: Date) -> String {
    let milliseconds = date.millisecondsSince1970
    let seconds = Date(timeIntervalSince1970: TimeInterval(milliseconds.floorDivided(by: 1000)))
    let whole = seconds.formatted(Date.ISO8601FormatStyle())  // …T16:31:10Z
    let fraction = milliseconds - milliseconds.floorDivided(by: 1000) * 1000
    return whole.dropLast() + "." + String(format: "%03d", fraction) + "Z"
}

extension Date {
    /// Milliseconds since 1970, rounded as ``rfc3339(_:)`` rounds them: compare
    /// these, not `Date`s, when a client sends back a timestamp it was given.
    public var millisecondsSince1970: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
