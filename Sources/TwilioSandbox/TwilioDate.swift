import Foundation

/// The date formats of Twilio's 2010-04-01 API: RFC 2822 in JSON
/// (`Thu, 30 Jul 2015 20:12:31 +0000`), and ISO 8601 dates or date-times in
/// list filters (`DateSent>=2015-07-30`, `DateSent<=2015-07-30T20:12:31Z`).
///
/// Written by hand on civil-date arithmetic: always UTC, no formatter state,
/// nothing locale-dependent.
enum TwilioDate {
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    static func rfc2822(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds.floorDiv(86_400)
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = civil(fromDays: days)
        let weekday = weekdays[days.floorMod(7)]
        return "\(weekday), \(pad(day)) \(months[month - 1]) \(year) \(pad(secondOfDay / 3600)):\(pad(secondOfDay % 3600 / 60)):\(pad(secondOfDay % 60)) +0000"
    }

    /// A filter value: either a whole UTC day (`2015-07-30`) or an instant
    /// (`2015-07-30T20:12:31Z`, an offset, or fractional seconds allowed).
    enum FilterValue: Equatable {
        case day(start: Date)
        case instant(Date)

        /// The first instant the value covers.
        var lowerBound: Date {
            switch self {
            case .day(let start): start
            case .instant(let date): date
            }
        }

        /// The first instant after the value: the next midnight for a day, the next second for an instant.
        var upperBound: Date {
            switch self {
            case .day(let start): start.addingTimeInterval(86_400)
            case .instant(let date): date.addingTimeInterval(1)
            }
        }
    }

    static func parseFilter(_ text: String) -> FilterValue? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, let year = number(bytes, 0, 4), bytes[4] == UInt8(ascii: "-"),
            let month = number(bytes, 5, 2), bytes[7] == UInt8(ascii: "-"), let day = number(bytes, 8, 2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        let midnight = Date(timeIntervalSince1970: TimeInterval(days(fromYear: year, month: month, day: day) * 86_400))
        if bytes.count == 10 { return .day(start: midnight) }
        // yyyy-mm-ddThh:mm:ss[.fff](Z|±hh:mm)
        guard bytes.count >= 20, bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: " "),
            let hour = number(bytes, 11, 2), bytes[13] == UInt8(ascii: ":"), let minute = number(bytes, 14, 2),
            bytes[16] == UInt8(ascii: ":"), let second = number(bytes, 17, 2), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                scale /= 10
                index += 1
            }
        }
        var offset = 0
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "Z") where index == bytes.count - 1:
            break
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard bytes.count == index + 6, let hours = number(bytes, index + 1, 2), bytes[index + 3] == UInt8(ascii: ":"),
                let minutes = number(bytes, index + 4, 2)
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (bytes[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let seconds = Double(hour * 3600 + minute * 60 + second - offset) + fraction
        return .instant(midnight.addingTimeInterval(seconds))
    }

    private static func number(_ bytes: [UInt8], _ start: Int, _ length: Int) -> Int? {
        guard start + length <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[start..<start + length] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    private static func pad(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func days(fromYear year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = y.floorDiv(400)
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The inverse of ``days(fromYear:month:day:)`` (`civil_from_days`).
    static func civil(fromDays days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = z.floorDiv(146_097)
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension Int {
    fileprivate func floorDiv(_ divisor: Int) -> Int {
        (self >= 0 ? self : self - divisor + 1) / divisor
    }

    fileprivate func floorMod(_ divisor: Int) -> Int {
        self - floorDiv(divisor) * divisor
    }
}
