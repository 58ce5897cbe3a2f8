import Foundation
import Testing

@testable import SMSCore

@Suite("Phone numbers")
struct PhoneNumberTests {
    struct Accepted: CustomTestStringConvertible, Sendable {
        let input: String
        let defaultCountry: String
        let e164: String
        let country: String?
        var testDescription: String { "\(String(reflecting: input)) (\(defaultCountry)) → \(e164)" }
    }

    struct Refused: CustomTestStringConvertible, Sendable {
        let input: String
        let defaultCountry: String
        let error: PhoneNumberError
        var testDescription: String { "\(String(reflecting: input)) (\(defaultCountry)) → \(error)" }
    }

    static let nationalAndCountryFormats: [Accepted] = [
        // Australia: mobiles and landlines, in every way they are written.
        .init(input: "0412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "+61 412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "61412345678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "0061 412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "(04) 1234 5678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "0011 61 412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "  0412-345-678\n", defaultCountry: "au", e164: "+61412345678", country: "AU"),
        .init(input: "(02) 9876 5432", defaultCountry: "AU", e164: "+61298765432", country: "AU"),
        .init(input: "(08) 9123 4567", defaultCountry: "AU", e164: "+61891234567", country: "AU"),
        // North America.
        .init(input: "(415) 555-2671", defaultCountry: "US", e164: "+14155552671", country: "US"),
        .init(input: "1-415-555-2671", defaultCountry: "US", e164: "+14155552671", country: "US"),
        .init(input: "+1 415 555 2671", defaultCountry: "US", e164: "+14155552671", country: "US"),
        .init(input: "415.555.2671", defaultCountry: "US", e164: "+14155552671", country: "US"),
        .init(input: "14155552671", defaultCountry: "US", e164: "+14155552671", country: "US"),
        .init(input: "011 61 412 345 678", defaultCountry: "US", e164: "+61412345678", country: "AU"),
        .init(input: "(212) 555-0142", defaultCountry: "US", e164: "+12125550142", country: "US"),
        .init(input: "416 555 0199", defaultCountry: "CA", e164: "+14165550199", country: "CA"),
        .init(input: "(415) 555-2671", defaultCountry: "CA", e164: "+14155552671", country: "US"),
        .init(input: "876 555 1234", defaultCountry: "JM", e164: "+18765551234", country: "JM"),
        // United Kingdom.
        .init(input: "07700 900123", defaultCountry: "GB", e164: "+447700900123", country: "GB"),
        .init(input: "+44 7700 900123", defaultCountry: "GB", e164: "+447700900123", country: "GB"),
        .init(input: "447700900123", defaultCountry: "GB", e164: "+447700900123", country: "GB"),
        .init(input: "+44 (0)7700 900123", defaultCountry: "GB", e164: "+447700900123", country: "GB"),
        .init(input: "020 7946 0123", defaultCountry: "GB", e164: "+442079460123", country: "GB"),
        .init(input: "01632 960123", defaultCountry: "GB", e164: "+441632960123", country: "GB"),
        // New Zealand.
        .init(input: "021 123 4567", defaultCountry: "NZ", e164: "+64211234567", country: "NZ"),
        .init(input: "027 123 4567", defaultCountry: "NZ", e164: "+64271234567", country: "NZ"),
        .init(input: "(09) 123 4567", defaultCountry: "NZ", e164: "+6491234567", country: "NZ"),
        .init(input: "022 123 456", defaultCountry: "NZ", e164: "+6422123456", country: "NZ"),
        // The other countries with their own rules.
        .init(input: "087 123 4567", defaultCountry: "IE", e164: "+353871234567", country: "IE"),
        .init(input: "01 234 5678", defaultCountry: "IE", e164: "+35312345678", country: "IE"),
        .init(input: "0151 23456789", defaultCountry: "DE", e164: "+4915123456789", country: "DE"),
        .init(input: "030 1234567", defaultCountry: "DE", e164: "+49301234567", country: "DE"),
        .init(input: "06 12 34 56 78", defaultCountry: "FR", e164: "+33612345678", country: "FR"),
        .init(input: "098765 43210", defaultCountry: "IN", e164: "+919876543210", country: "IN"),
        .init(input: "919876543210", defaultCountry: "IN", e164: "+919876543210", country: "IN"),
        .init(input: "9123 4567", defaultCountry: "SG", e164: "+6591234567", country: "SG"),
        .init(input: "6591234567", defaultCountry: "SG", e164: "+6591234567", country: "SG"),
        .init(input: "082 123 4567", defaultCountry: "ZA", e164: "+27821234567", country: "ZA"),
        // Countries with length checks only: one leading 0 is a trunk prefix…
        .init(input: "06 12345678", defaultCountry: "NL", e164: "+31612345678", country: "NL"),
        .init(input: "090-1234-5678", defaultCountry: "JP", e164: "+819012345678", country: "JP"),
        // …except where the 0 is part of the number.
        .init(input: "06 1234 5678", defaultCountry: "IT", e164: "+390612345678", country: "IT"),
    ]

    @Test("numbers in national or international form normalise to E.164", arguments: nationalAndCountryFormats)
    func acceptsNumber(_ example: Accepted) throws {
        let number = try PhoneNumber.parse(example.input, defaultCountry: example.defaultCountry)

        #expect(number.e164 == example.e164)
        #expect(number.country == example.country)
        #expect(number.description == example.e164)
    }

    static let internationalInputs: [Accepted] = [
        // The default country does not matter once the number says its own.
        .init(input: "+977 985 1234567", defaultCountry: "AU", e164: "+9779851234567", country: "NP"),
        .init(input: "0049 151 23456789", defaultCountry: "GB", e164: "+4915123456789", country: "DE"),
        .init(input: "+39 06 1234 5678", defaultCountry: "US", e164: "+390612345678", country: "IT"),
        .init(input: "+81 90 1234 5678", defaultCountry: "US", e164: "+819012345678", country: "JP"),
        .init(input: "+55 11 91234 5678", defaultCountry: "US", e164: "+5511912345678", country: "BR"),
        .init(input: "+7 912 345 67 89", defaultCountry: "US", e164: "+79123456789", country: "RU"),
        .init(input: "+7 701 234 56 78", defaultCountry: "US", e164: "+77012345678", country: "KZ"),
        .init(input: "+1 709 555 0123", defaultCountry: "GB", e164: "+17095550123", country: "CA"),
        .init(input: "+1 876 555 1234", defaultCountry: "GB", e164: "+18765551234", country: "JM"),
        .init(input: "+852 9123 4567", defaultCountry: "AU", e164: "+85291234567", country: "HK"),
        .init(input: "+290 22345", defaultCountry: "AU", e164: "+29022345", country: "SH"),
        .init(input: "+61 8 9162 1234", defaultCountry: "AU", e164: "+61891621234", country: "CC"),
        .init(input: "+882 1234 5678", defaultCountry: "AU", e164: "+88212345678", country: nil),
        .init(input: "( +61 ) 412 345 678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
        .init(input: "+61\u{00A0}412\u{2013}345\u{2013}678", defaultCountry: "AU", e164: "+61412345678", country: "AU"),
    ]

    @Test("international input is read by its own calling code", arguments: internationalInputs)
    func acceptsInternationalNumber(_ example: Accepted) throws {
        let number = try PhoneNumber.parse(example.input, defaultCountry: example.defaultCountry)

        #expect(number.e164 == example.e164)
        #expect(number.country == example.country)
    }

    static let impossibleNumbers: [Refused] = [
        // Australia.
        .init(input: "0412 345 67", defaultCountry: "AU", error: .tooShort(country: "AU")),
        .init(input: "0412 345 6789", defaultCountry: "AU", error: .tooLong(country: "AU")),
        .init(
            input: "0512 345 678", defaultCountry: "AU",
            error: .invalidForCountry(country: "AU", reason: "mobile numbers start with 04 and landlines with 02, 03, 07 or 08")
        ),
        .init(input: "1300 123 456", defaultCountry: "AU", error: auServiceNumber),
        .init(input: "1800 123 456", defaultCountry: "AU", error: auServiceNumber),
        .init(input: "13 12 34", defaultCountry: "AU", error: auServiceNumber),
        .init(input: "+61 1300 123 456", defaultCountry: "US", error: auServiceNumber),
        // North America.
        .init(
            input: "(015) 555-2671", defaultCountry: "US",
            error: .invalidForCountry(country: "US", reason: "area codes cannot start with 0 or 1")
        ),
        .init(
            input: "(115) 555-2671", defaultCountry: "US",
            error: .invalidForCountry(country: "US", reason: "area codes cannot start with 0 or 1")
        ),
        .init(
            input: "(415) 155-2671", defaultCountry: "US",
            error: .invalidForCountry(
                country: "US", reason: "exchange codes (the three digits after the area code) cannot start with 0 or 1")
        ),
        .init(
            input: "(911) 555-2671", defaultCountry: "US",
            error: .invalidForCountry(country: "US", reason: "211, 311 … 911 are service codes, not area codes")
        ),
        .init(input: "415 555 267", defaultCountry: "US", error: .tooShort(country: "US")),
        .init(input: "+1 415 555 26710", defaultCountry: "AU", error: .tooLong(country: "US")),
        // United Kingdom.
        .init(input: "0770090012", defaultCountry: "GB", error: .tooShort(country: "GB")),
        .init(input: "+44 7700 9001234", defaultCountry: "GB", error: .tooLong(country: "GB")),
        .init(
            input: "0800 123 4567", defaultCountry: "GB",
            error: .notSMSCapable(
                country: "GB", reason: "numbers starting with 05, 08 or 09 are freephone, shared-cost or premium-rate services")
        ),
        // New Zealand.
        .init(input: "(09) 123 456", defaultCountry: "NZ", error: .tooShort(country: "NZ")),
        .init(input: "021 123 456 789", defaultCountry: "NZ", error: .tooLong(country: "NZ")),
        .init(
            input: "0800 123 456", defaultCountry: "NZ",
            error: .notSMSCapable(country: "NZ", reason: "numbers starting with 05 or 08 are freephone or service numbers")
        ),
        // Others with rules.
        .init(
            input: "0800 123 456", defaultCountry: "FR",
            error: .notSMSCapable(country: "FR", reason: "08 numbers are freephone, shared-cost or premium-rate services")
        ),
        .init(input: "98765 4321", defaultCountry: "IN", error: .tooShort(country: "IN")),
        .init(
            input: "2123 4567", defaultCountry: "SG",
            error: .invalidForCountry(country: "SG", reason: "mobile numbers start with 8 or 9 and landlines with 6")
        ),
        // Length checks for every other country: 8 to 15 digits with the calling code.
        .init(input: "+31 612 34", defaultCountry: "AU", error: .tooShort(country: "NL")),
        .init(input: "+31 6 1234 5678 9012 3", defaultCountry: "AU", error: .tooLong(country: nil)),
        .init(input: "+882", defaultCountry: "AU", error: .tooShort(country: nil)),
        // Calling codes and default countries.
        .init(input: "+999 1234 5678", defaultCountry: "AU", error: .unknownCountryCode("999")),
        .init(input: "00 0412 345 678", defaultCountry: "AU", error: .unknownCountryCode("041")),
        .init(input: "0412 345 678", defaultCountry: "XX", error: .unsupportedDefaultCountry("XX")),
        .init(input: "+61 412 345 678", defaultCountry: "", error: .unsupportedDefaultCountry("")),
        // Nothing to parse.
        .init(input: "", defaultCountry: "AU", error: .empty),
        .init(input: "  ( ) - ", defaultCountry: "AU", error: .empty),
        .init(input: "+", defaultCountry: "AU", error: .empty),
    ]

    static let auServiceNumber = PhoneNumberError.notSMSCapable(
        country: "AU", reason: "numbers starting with 1 (13, 1300, 1800, 19) are service numbers")

    @Test("impossible numbers are refused with the reason", arguments: impossibleNumbers)
    func refusesNumber(_ example: Refused) {
        #expect(throws: example.error) {
            try PhoneNumber.parse(example.input, defaultCountry: example.defaultCountry)
        }
    }

    static let notPhoneNumberText: [Refused] = [
        .init(input: "0412 345 678 x123", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "(415) 555-2671 ext 12", defaultCountry: "US", error: .invalidCharacters),
        .init(input: "1-800-FLOWERS", defaultCountry: "US", error: .invalidCharacters),
        .init(input: "*123#", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "0412#345678", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "0412/345/678", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "tel:+61412345678", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "０４１２３４５６７８", defaultCountry: "AU", error: .invalidCharacters),
        .init(input: "61+412345678", defaultCountry: "AU", error: .misplacedPlusSign),
        .init(input: "++61412345678", defaultCountry: "AU", error: .misplacedPlusSign),
    ]

    @Test("letters, symbols and extensions are refused, not guessed at", arguments: notPhoneNumberText)
    func refusesText(_ example: Refused) {
        #expect(throws: example.error) {
            try PhoneNumber.parse(example.input, defaultCountry: example.defaultCountry)
        }
    }

    @Test(
        "error messages read as API error text",
        arguments: [
            (PhoneNumberError.empty, "empty"),
            (.invalidCharacters, "contains letters or symbols that are not part of a phone number"),
            (.tooShort(country: "AU"), "too short for AU"),
            (.tooLong(country: nil), "too long"),
            (
                .invalidForCountry(country: "AU", reason: "mobile numbers start with 04 and landlines with 02, 03, 07 or 08"),
                "not a valid number in AU: mobile numbers start with 04 and landlines with 02, 03, 07 or 08"
            ),
            (.unknownCountryCode("999"), "unknown country code +999"),
            (.unsupportedDefaultCountry("XX"), "unsupported default country XX"),
        ])
    func errorDescription(error: PhoneNumberError, message: String) {
        #expect(error.description == message)
    }

    @Test("an error message never repeats the number, so it is safe to log")
    func errorsDoNotEchoTheNumber() {
        let inputs = ["0412 345 67", "0512 345 678", "1300 123 456", "(015) 555-2671", "0412 345 678 x123"]

        let messages = inputs.map { input in
            #expect(throws: PhoneNumberError.self) { try PhoneNumber.parse(input, defaultCountry: "AU") }?.description ?? ""
        }

        for message in messages {
            #expect(!message.contains("345"))
            #expect(!message.contains("555"))
        }
    }

    @Test(
        "isValidE164 matches the database CHECK ^\\+[1-9][0-9]{6,14}$",
        arguments: [
            ("+61412345678", true),
            ("+1234567", true),
            ("+123456789012345", true),
            ("+123456", false),
            ("+1234567890123456", false),
            ("+0412345678", false),
            ("61412345678", false),
            ("+61 412345678", false),
            ("+6141234567a", false),
            ("+٦١٤١٢٣٤٥٦٧٨", false),
            ("", false),
            ("+", false),
        ])
    func e164Shape(candidate: String, valid: Bool) {
        #expect(PhoneNumber.isValidE164(candidate) == valid)
    }

    @Test("every parsed number passes the E.164 check", arguments: nationalAndCountryFormats + internationalInputs)
    func parsedNumbersAreE164(_ example: Accepted) throws {
        let number = try PhoneNumber.parse(example.input, defaultCountry: example.defaultCountry)

        #expect(PhoneNumber.isValidE164(number.e164))
    }

    @Test("a stored E.164 value loads back with its country and calling code")
    func loadsStoredNumber() throws {
        let parsed = try PhoneNumber.parse("0412 345 678", defaultCountry: "AU")

        let stored = try #require(PhoneNumber(e164: parsed.e164))

        #expect(stored == parsed)
        #expect(stored.country == "AU")
        #expect(stored.callingCode == "61")
        #expect(stored.nationalSignificantNumber == "412345678")
        #expect(PhoneNumber(e164: "0412345678") == nil)
        #expect(PhoneNumber(e164: "+99912345678") == nil)
    }

    @Test("numbers written differently are the same number")
    func equalityIsByE164() throws {
        let typed = try PhoneNumber.parse("(04) 1234 5678", defaultCountry: "AU")
        let exported = try PhoneNumber.parse("61412345678", defaultCountry: "AU")

        #expect(typed == exported)
        #expect(Set([typed, exported]).count == 1)
    }

    @Test("the calling-code table is prefix-free and every country has one code")
    func callingCodeTableIsConsistent() {
        let codes = CallingCodes.assignments.map(\.code)
        let countries = CallingCodes.assignments.flatMap(\.countries)

        #expect(Set(codes).count == codes.count)
        #expect(Set(countries).count == countries.count)
        for code in codes {
            #expect(!codes.contains { $0 != code && code.hasPrefix($0) }, "\(code) starts with another code")
            #expect(code.first != "0")
        }
    }

    @Test("every default country with a calling code is supported")
    func everyKnownCountryIsADefault() {
        let countries = CallingCodes.assignments.flatMap(\.countries)

        for country in countries {
            do {
                _ = try PhoneNumber.parse("+61 412 345 678", defaultCountry: country)
            } catch {
                Issue.record("\(country): \(error)")
            }
        }
        #expect(countries.count > 230)
    }
}
