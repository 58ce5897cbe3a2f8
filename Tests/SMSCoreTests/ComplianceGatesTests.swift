import Foundation
import SMSCore
import Testing

@Suite("Compliance gates")
struct ComplianceGatesTests {
    // 2026-07-01 04:00 UTC: 14:00 in Sydney, 05:00 in London, 00:00 in New York, 09:45 in Kathmandu.
    static let now = utc("2026-07-01T04:00:00Z")

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let snapshot: GateSnapshot
        let expected: GateDecision
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "all clear in Sydney's afternoon", snapshot: GateSnapshot(recipient: "+61298765432", tenantTimeZone: "Australia/Sydney"), expected: .pass),
        Case(name: "global pause parks", snapshot: GateSnapshot(globalPaused: true, onDoNotContact: true, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .park(.killSwitch)),
        Case(name: "tenant pause parks before anything else", snapshot: GateSnapshot(tenantPaused: true, optedOut: true, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .park(.killSwitch)),
        Case(name: "campaign pause parks", snapshot: GateSnapshot(campaignPaused: true, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .park(.killSwitch)),
        Case(name: "do-not-contact blocks", snapshot: GateSnapshot(onDoNotContact: true, optedOut: true, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .block(.doNotContact, reason: "the number is on the do-not-contact list")),
        Case(name: "opted out blocks", snapshot: GateSnapshot(optedOut: true, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .block(.optedOut, reason: "the contact opted out")),
        Case(name: "missing consent blocks where required", snapshot: GateSnapshot(hasConsent: false, recipient: "+61298765432", tenantTimeZone: "UTC"), expected: .block(.consent, reason: "no consent on record")),
        Case(name: "a landline is blocked: it cannot receive a text", snapshot: GateSnapshot(recipient: "+61298765432", tenantTimeZone: "UTC", numberType: .fixedLine), expected: .block(.notSMSCapable, reason: "the number is a landline and cannot receive text messages")),
        Case(name: "a toll-free number is blocked", snapshot: GateSnapshot(recipient: "+611800123456", tenantTimeZone: "UTC", numberType: .tollFree), expected: .block(.notSMSCapable, reason: "the number is a toll-free number and cannot receive text messages")),
        Case(name: "consent is decided before the number type", snapshot: GateSnapshot(hasConsent: false, recipient: "+61298765432", tenantTimeZone: "UTC", numberType: .fixedLine), expected: .block(.consent, reason: "no consent on record")),
        Case(name: "fixed line or mobile passes by default", snapshot: GateSnapshot(recipient: "+61298765432", tenantTimeZone: "Australia/Sydney", numberType: .fixedLineOrMobile), expected: .pass),
        Case(name: "fixed line or mobile is blocked where the tenant does not allow it", snapshot: GateSnapshot(recipient: "+61298765432", tenantTimeZone: "Australia/Sydney", numberType: .fixedLineOrMobile, allowFixedLineOrMobile: false), expected: .block(.notSMSCapable, reason: "the number is a landline or mobile number and cannot receive text messages")),
        Case(name: "a mobile passes", snapshot: GateSnapshot(recipient: "+61412345678", tenantTimeZone: "Australia/Sydney", numberType: .mobile), expected: .pass),
        Case(name: "missing consent passes where not required", snapshot: GateSnapshot(consentRequired: false, hasConsent: false, recipient: "+61298765432", tenantTimeZone: "Australia/Sydney"), expected: .pass),
        // London landline: inferred zone, 05:00 is quiet until 09:00 BST = 08:00 UTC.
        Case(name: "quiet hours in the zone the number implies", snapshot: GateSnapshot(recipient: "+442079460000", tenantTimeZone: "Australia/Sydney"), expected: .deferUntil(.quietHours, utc("2026-07-01T08:00:00Z"))),
        // The contact's own zone wins over the number's.
        Case(name: "the contact's zone wins", snapshot: GateSnapshot(recipient: "+442079460000", contactTimeZone: "Asia/Kathmandu", tenantTimeZone: "UTC"), expected: .pass),
        // An AU mobile pins no zone: the tenant's (New York, midnight) decides.
        Case(name: "a mobile falls back to the tenant's zone", snapshot: GateSnapshot(recipient: "+61412345678", tenantTimeZone: "America/New_York"), expected: .deferUntil(.quietHours, utc("2026-07-01T13:00:00Z"))),
        // A campaign window 13:00–15:00 is quiet at 14:00 Sydney.
        Case(name: "the campaign's window applies", snapshot: GateSnapshot(recipient: "+61298765432", tenantTimeZone: "UTC", quietHours: QuietHours(start: 13 * 60, end: 15 * 60)), expected: .deferUntil(.quietHours, utc("2026-07-01T05:00:00Z"))),
    ]

    @Test("gates run in order and decide as the rules say", arguments: cases)
    func decisions(testCase: Case) {
        #expect(ComplianceGates.evaluate(testCase.snapshot, now: Self.now) == testCase.expected)
    }

    @Test("the validity period ends when the recipient's window closes")
    func windowCloses() {
        let snapshot = GateSnapshot(recipient: "+61298765432", tenantTimeZone: "UTC")
        // 14:00 in Sydney; quiet from 21:00 AEST = 11:00 UTC.
        #expect(ComplianceGates.windowCloses(after: Self.now, snapshot: snapshot) == utc("2026-07-01T11:00:00Z"))
    }
}
