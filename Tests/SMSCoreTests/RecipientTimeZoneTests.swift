import Foundation
import Testing

@testable import SMSCore

@Suite("Recipient time zones")
struct RecipientTimeZoneTests {
    static let inferredZones: [(e164: String, zone: String)] = [
        // Single-zone countries.
        ("+447700900123", "Europe/London"),
        ("+353871234567", "Europe/Dublin"),
        ("+64211234567", "Pacific/Auckland"),
        ("+4915123456789", "Europe/Berlin"),
        ("+33612345678", "Europe/Paris"),
        ("+919876543210", "Asia/Kolkata"),
        ("+6591234567", "Asia/Singapore"),
        ("+27821234567", "Africa/Johannesburg"),
        ("+819012345678", "Asia/Tokyo"),
        ("+9779851234567", "Asia/Kathmandu"),
        ("+390612345678", "Europe/Rome"),
        ("+34612345678", "Europe/Madrid"),
        ("+34928123456", "Atlantic/Canary"),
        ("+351912345678", "Europe/Lisbon"),
        ("+351296123456", "Atlantic/Azores"),
        ("+85291234567", "Asia/Hong_Kong"),
        // North America by area code.
        ("+14155552671", "America/Los_Angeles"),
        ("+12125550142", "America/New_York"),
        ("+13125550142", "America/Chicago"),
        ("+13035550142", "America/Denver"),
        ("+16025550142", "America/Phoenix"),
        ("+14805550142", "America/Phoenix"),
        ("+15205550142", "America/Phoenix"),
        ("+16235550142", "America/Phoenix"),
        ("+19285550142", "America/Phoenix"),
        ("+18085550142", "Pacific/Honolulu"),
        ("+19075550142", "America/Anchorage"),
        ("+17095550123", "America/St_Johns"),
        ("+13065550142", "America/Regina"),
        ("+14165550199", "America/Toronto"),
        ("+16045550142", "America/Vancouver"),
        ("+18765551234", "America/Jamaica"),
        ("+17875550142", "America/Puerto_Rico"),
        // Australian geographic numbers.
        ("+61298765432", "Australia/Sydney"),
        ("+61398765432", "Australia/Melbourne"),
        ("+61362345678", "Australia/Melbourne"),
        ("+61731234567", "Australia/Brisbane"),
        ("+61891234567", "Australia/Perth"),
        ("+61861234567", "Australia/Perth"),
        ("+61881234567", "Australia/Adelaide"),
        ("+61889812345", "Australia/Darwin"),
        ("+61889521234", "Australia/Darwin"),
        ("+61891621234", "Indian/Cocos"),
    ]

    @Test("the zone is inferred when the number alone determines it", arguments: inferredZones)
    func infersZone(e164: String, zone: String) throws {
        let number = try #require(PhoneNumber(e164: e164))

        #expect(RecipientTimeZone.infer(from: number)?.identifier == zone)
    }

    @Test("Lord Howe Island numbers share NSW's 02 range and get Sydney, not Lord Howe time")
    func lordHoweIsNotInferred() throws {
        let lordHowe = try #require(PhoneNumber(e164: "+61265631234"))

        let zone = RecipientTimeZone.infer(from: lordHowe)

        #expect(zone?.identifier == "Australia/Sydney")
        #expect(zone?.identifier != "Australia/Lord_Howe")
    }

    @Test(
        "no zone is inferred when the number does not pin it down",
        arguments: [
            "+61412345678",  // AU mobile: moves with its owner
            "+18675550142",  // Yukon, Northwest Territories, Nunavut
            "+18005550142",  // toll-free
            "+79123456789",  // Russia spans eleven zones
            "+5511912345678",  // Brazil
            "+525512345678",  // Mexico
            "+61871234567",  // 08 7: not a range this table knows
            "+88212345678",  // international network, no country
        ])
    func infersNothing(e164: String) throws {
        let number = try #require(PhoneNumber(e164: e164))

        #expect(RecipientTimeZone.infer(from: number) == nil)
    }

    @Test("every zone in the tables exists in this machine's tzdata")
    func everyTableZoneExists() {
        let zones =
            Set(RecipientTimeZone.singleZoneByCountry.values)
            .union(RecipientTimeZone.northAmericanAreaCodesByZone.map(\.zone))
            .union([
                "Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth", "Australia/Adelaide",
                "Australia/Darwin", "Atlantic/Canary", "Europe/Madrid", "Atlantic/Azores", "Europe/Lisbon",
            ])

        for zone in zones {
            #expect(TimeZone(identifier: zone) != nil, "\(zone) is not in tzdata")
            // Some are links (Europe/Vatican → Europe/Rome): accepted, stored as their zone.
            #expect(RecipientTimeZone.validatedIdentifier(zone) != nil, "\(zone) is refused")
        }
    }

    @Test("no NANP area code is listed twice")
    func areaCodesAreUnique() {
        let areaCodes = RecipientTimeZone.northAmericanAreaCodesByZone.flatMap {
            $0.areaCodes.split(whereSeparator: \.isWhitespace).map(String.init)
        }

        #expect(Set(areaCodes).count == areaCodes.count)
        #expect(areaCodes.allSatisfy { $0.count == 3 && $0.allSatisfy(\.isNumber) })
        #expect(areaCodes.count > 350)
        #expect(!areaCodes.contains("867"))
    }

    /// NANP area codes outside the United States (Canada and the Caribbean), as the
    /// hand-written phone rules listed them before libphonenumber took over (issue 16).
    static let nonUSAreaCodes: [String] = """
        204 226 236 249 250 257 263 289 306 343 354 365 367 368 382 403 416 418 428 431 437 438 450 468 474 \
        506 514 519 548 579 581 584 587 600 604 613 639 647 672 683 705 709 742 753 778 780 782 807 819 825 \
        867 873 879 902 905 942 \
        268 264 684 246 441 242 767 809 829 849 473 671 658 876 869 345 758 670 664 787 939 721 649 868 784 284 340
        """.split(whereSeparator: \.isWhitespace).map(String.init)

    @Test("every non-US NANP area code except 867 and 600 has a zone")
    func canadianAndCaribbeanAreaCodesHaveZones() {
        let missing = Self.nonUSAreaCodes
            .filter { !["867", "600"].contains($0) }
            .filter { RecipientTimeZone.northAmericanZoneByAreaCode[$0] == nil }

        #expect(missing.isEmpty, "no zone for \(missing.sorted())")
    }

    @Test(
        "real IANA region names are accepted and returned in canonical form",
        arguments: [
            ("America/New_York", "America/New_York"),
            ("Australia/Sydney", "Australia/Sydney"),
            ("Asia/Kathmandu", "Asia/Kathmandu"),
            ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
            ("america/new_york", "America/New_York"),
            (" Europe/London ", "Europe/London"),
        ])
    func acceptsZoneName(input: String, canonical: String) {
        #expect(RecipientTimeZone.validatedIdentifier(input) == canonical)
    }

    // Changed (issue 16): links, fixed-offset and POSIX-style zones were refused; CRMs export them.
    @Test(
        "links are accepted and stored as the zone they stand for",
        arguments: [
            ("US/Eastern", "America/New_York"),
            ("us/pacific", "America/Los_Angeles"),
            ("Canada/Pacific", "America/Vancouver"),
            ("Brazil/East", "America/Sao_Paulo"),
            ("Asia/Calcutta", "Asia/Kolkata"),
            ("Europe/Kiev", "Europe/Kyiv"),
            ("UTC", "Etc/UTC"),
            ("utc", "Etc/UTC"),
            ("GMT", "Etc/GMT"),
        ])
    func acceptsLink(input: String, canonical: String) {
        #expect(RecipientTimeZone.validatedIdentifier(input) == canonical)
    }

    @Test(
        "fixed-offset and POSIX-style zones are accepted as they are",
        arguments: ["EST", "EST5EDT", "CET", "Etc/GMT+5", "Etc/UTC", "PST8PDT", "MST"])
    func acceptsFixedOffsetZone(input: String) {
        #expect(RecipientTimeZone.validatedIdentifier(input) == input)
    }

    @Test("every name in the system's tz database is accepted and loads as a time zone")
    func acceptsEveryTzName() throws {
        let names = TimeZoneNames.load().keys

        let refused = names.filter { RecipientTimeZone.validatedIdentifier($0) == nil }

        #expect(names.count > 590)
        #expect(refused.isEmpty, "refused: \(refused.sorted())")
    }

    @Test(
        "offsets, abbreviations that are not zones and made-up names are refused",
        arguments: ["PST", "GMT+5", "UTC+10:00", "+05:00", "Mars/Olympus", "America/Atlantis", "America/", "", "Sydney"])
    func refusesZoneName(input: String) {
        #expect(RecipientTimeZone.validatedIdentifier(input) == nil)
    }

    @Test(
        "a near miss is answered with the closest name",
        arguments: [
            ("America/New_Yrok", "America/New_York"),
            ("Sydney", "Australia/Sydney"),
            ("australia/melborne", "Australia/Melbourne"),
            ("Europe/Londn", "Europe/London"),
            ("US/Estern", "America/New_York"),
        ])
    func suggestsClosestName(input: String, suggestion: String) {
        #expect(RecipientTimeZone.hint(for: input) == "did you mean \(suggestion)?")
    }

    @Test("a name nothing resembles gets an example instead of a guess")
    func noSuggestionForNonsense() {
        #expect(RecipientTimeZone.hint(for: "Mars/Olympus") == "use an IANA name such as Australia/Sydney")
    }
}
