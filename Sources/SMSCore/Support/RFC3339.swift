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

/// Reads an RFC 3339 date-time with or without fractional seconds
/// (`2026-11-25T09:00:00Z`, `…09:00:00.250+10:00`); nil for anything else,
/// impossible dates included: Foundation's parser shifts `2027-02-30T25:00:00Z`
/// to another day, so every field is range-checked first. The API's JSON and
/// its query parameters read dates with it.
public func parseRFC3339(_ text: String) -> Date? {
    let bytes = Array(text.utf8)
    func number(_ range: Range<Int>) -> Int? {
        guard range.upperBound <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[range] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
    guard bytes.count >= 20, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
        bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
        let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
        let minute = number(14..<16), let second = number(17..<19),
        (1...9999).contains(year), (1...12).contains(month), (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second)
    else { return nil }
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    guard (1...days).contains(day) else { return nil }
    var rest = bytes[19...]
    var fraction = 0.0
    if rest.first == UInt8(ascii: ".") {
        rest = rest.dropFirst()
        let digits = rest.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        guard (1...9).contains(digits.count) else { return nil }
        fraction = Double("0." + String(decoding: digits, as: UTF8.self)) ?? 0
        rest = rest.dropFirst(digits.count)
    }
    var offsetSeconds = 0
    switch Array(rest) {
    case [UInt8(ascii: "Z")], [UInt8(ascii: "z")]:
        break
    case let zone where zone.count == 6 && (zone[0] == UInt8(ascii: "+") || zone[0] == UInt8(ascii: "-")) && zone[3] == UInt8(ascii: ":"):
        guard zone[1...2].allSatisfy({ (48...57).contains($0) }), zone[4...5].allSatisfy({ (48...57).contains($0) }),
            let h = Int(String(decoding: zone[1...2], as: UTF8.self)), let m = Int(String(decoding: zone[4...5], as: UTF8.self)),
            (0...23).contains(h), (0...59).contains(m)
        else { return nil }
        offsetSeconds = (h * 3600 + m * 60) * (zone[0] == UInt8(ascii: "-") ? -1 : 1)
    default:
        return nil
    }
    // Computed here rather than by Foundation's parser, which refuses offsets RFC 3339 allows (-23:46).
    let epochDays = daysFromCivil(year: year, month: month, day: day)
    let seconds = Double(epochDays * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds) + fraction
    return Date(timeIntervalSince1970: seconds)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
private func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yearOfEra = y - era * 400
    let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
    let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
    return era * 146_097 + dayOfEra - 719_468
}
