import Foundation

/// What one outbound SMS segment costs, in US cents, by destination country.
///
/// Budgets reserve segments × this price before a send and settle to Twilio's
/// reported price afterwards, so the table only needs to be close and on the
/// high side. Figures follow Twilio's published outbound SMS list prices for
/// long codes (late 2025); carrier surcharges vary, so they are rounded up.
public struct PriceTable: Sendable {
    public var centsPerSegment: [String: Decimal]
    /// For countries not in the table: high on purpose, so budgets stay safe.
    public var fallbackCentsPerSegment: Decimal

    public init(centsPerSegment: [String: Decimal], fallbackCentsPerSegment: Decimal) {
        self.centsPerSegment = centsPerSegment
        self.fallbackCentsPerSegment = fallbackCentsPerSegment
    }

    public static let standard = PriceTable(
        centsPerSegment: [
            "US": Decimal(string: "0.83")!, "CA": Decimal(string: "0.83")!, "AU": Decimal(string: "5.15")!,
            "NZ": Decimal(string: "11.50")!, "GB": Decimal(string: "4.63")!, "IE": Decimal(string: "7.60")!,
            "DE": Decimal(string: "9.50")!, "FR": Decimal(string: "8.00")!, "IN": Decimal(string: "8.30")!,
            "SG": Decimal(string: "5.20")!, "ZA": Decimal(string: "3.80")!,
        ],
        fallbackCentsPerSegment: Decimal(15))

    public func centsPerSegment(country: String?) -> Decimal {
        country.flatMap { centsPerSegment[$0] } ?? fallbackCentsPerSegment
    }

    /// The estimated cost of `segments` segments to `phone` (E.164).
    public func estimate(segments: Int, toE164 phone: String) -> Decimal {
        Decimal(segments) * centsPerSegment(country: PhoneNumber(e164: phone)?.country)
    }
}
