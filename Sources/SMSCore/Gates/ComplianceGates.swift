import Foundation

/// Everything the pure gates look at for one job, read in one place so the
/// rules are functions of a snapshot (and testable by tables of cases).
public struct GateSnapshot: Sendable {
    public var globalPaused: Bool
    public var tenantPaused: Bool
    public var campaignPaused: Bool
    /// The recipient's number is on the tenant's do-not-contact list.
    public var onDoNotContact: Bool
    public var optedOut: Bool
    public var consentRequired: Bool
    public var hasConsent: Bool
    /// E.164 of the recipient, for zone inference.
    public var recipient: String
    /// The contact's own IANA zone, if set.
    public var contactTimeZone: String?
    public var tenantTimeZone: String
    /// The campaign's window, else the tenant's.
    public var quietHours: QuietHours
    /// The contact's stored `number_type`; `nil` for contacts stored before types were recorded.
    public var numberType: PhoneNumberType?
    /// The tenant's `allow_fixed_line_or_mobile` setting.
    public var allowFixedLineOrMobile: Bool

    public init(
        globalPaused: Bool = false, tenantPaused: Bool = false, campaignPaused: Bool = false, onDoNotContact: Bool = false,
        optedOut: Bool = false, consentRequired: Bool = true, hasConsent: Bool = true, recipient: String,
        contactTimeZone: String? = nil, tenantTimeZone: String, quietHours: QuietHours = .standard,
        numberType: PhoneNumberType? = nil, allowFixedLineOrMobile: Bool = true
    ) {
        self.globalPaused = globalPaused
        self.tenantPaused = tenantPaused
        self.campaignPaused = campaignPaused
        self.onDoNotContact = onDoNotContact
        self.optedOut = optedOut
        self.consentRequired = consentRequired
        self.hasConsent = hasConsent
        self.recipient = recipient
        self.contactTimeZone = contactTimeZone
        self.tenantTimeZone = tenantTimeZone
        self.quietHours = quietHours
        self.numberType = numberType
        self.allowFixedLineOrMobile = allowFixedLineOrMobile
    }
}

/// Which gate decided, with the value stored in `send_jobs.last_gate`.
public enum Gate: String, Sendable {
    case killSwitch = "kill_switch"
    case doNotContact = "do_not_contact"
    case optedOut = "opted_out"
    case consent
    case notSMSCapable = "not_sms_capable"
    case quietHours = "quiet_hours"
    case budget
    case warmup
    case rateLimit = "rate_limit"
    case passed
}

/// A gate's verdict.
public enum GateDecision: Sendable, Equatable {
    /// Go on to the next gate (or send, after the last).
    case pass
    /// Kill switch: the job waits, unfailed, until resume.
    case park(Gate)
    /// Never send: the job becomes `blocked` with this reason.
    case block(Gate, reason: String)
    /// Not now: the job becomes `deferred` until this instant.
    case deferUntil(Gate, Date)
}

/// The gates that need no I/O, in the order docs/ARCHITECTURE.md gives: kill switch,
/// do-not-contact and opt-out, consent, a number that cannot take a text, quiet hours. Budget, warmup and the
/// rate counter follow, around the database and Redis.
public enum ComplianceGates {
    public static func evaluate(_ snapshot: GateSnapshot, now: Date) -> GateDecision {
        if snapshot.globalPaused || snapshot.tenantPaused || snapshot.campaignPaused { return .park(.killSwitch) }
        if snapshot.onDoNotContact { return .block(.doNotContact, reason: "the number is on the do-not-contact list") }
        if snapshot.optedOut { return .block(.optedOut, reason: "the contact opted out") }
        if snapshot.consentRequired && !snapshot.hasConsent { return .block(.consent, reason: "no consent on record") }
        // The launch leaves these out already; a contact whose number changed since is caught here.
        if let type = snapshot.numberType, !type.canReceiveSMS(allowingFixedLineOrMobile: snapshot.allowFixedLineOrMobile) {
            return .block(.notSMSCapable, reason: "the number is \(type.phrase) and cannot receive text messages")
        }
        let zone = recipientZone(snapshot)
        if let opening = snapshot.quietHours.nextOpening(after: now, in: zone) { return .deferUntil(.quietHours, opening) }
        return .pass
    }

    /// The contact's zone, else the one the number pins down, else the tenant's.
    public static func recipientZone(_ snapshot: GateSnapshot) -> TimeZone {
        if let name = snapshot.contactTimeZone, let zone = TimeZone(identifier: name) { return zone }
        if let number = PhoneNumber(e164: snapshot.recipient), let zone = RecipientTimeZone.infer(from: number) { return zone }
        return TimeZone(identifier: snapshot.tenantTimeZone) ?? .gmt
    }

    /// The last instant a message may be delivered: when the window next
    /// closes in the recipient's zone. Used for Twilio's ValidityPeriod.
    public static func windowCloses(after now: Date, snapshot: GateSnapshot) -> Date {
        let zone = recipientZone(snapshot)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let startOfToday = calendar.startOfDay(for: now)
        for offset in 0...2 {
            guard let day = calendar.date(byAdding: .day, value: offset, to: startOfToday) else { continue }
            let closing = QuietHours.instant(localMinute: snapshot.quietHours.start, on: day, calendar: calendar)
            if closing > now { return closing }
        }
        return now.addingTimeInterval(10 * 3600)
    }
}
