/// What kind of line a number is, as libphonenumber's metadata tells from the
/// number alone (`PhoneNumberUtil::PhoneNumberType`). Stored in
/// `contacts.number_type` under its ``rawValue``.
public enum PhoneNumberType: String, Sendable, Hashable, CaseIterable, Codable {
    case mobile = "mobile"
    case fixedLine = "fixed_line"
    /// Where the numbering plan does not tell the two apart, as in the NANP.
    case fixedLineOrMobile = "fixed_line_or_mobile"
    case tollFree = "toll_free"
    case premiumRate = "premium_rate"
    case sharedCost = "shared_cost"
    case voip = "voip"
    case personal = "personal"
    case pager = "pager"
    /// Universal access ("company") numbers such as AU 13 numbers.
    case uan = "uan"
    case voicemail = "voicemail"
    /// The metadata cannot tell, or the number was stored before types were known.
    case unknown = "unknown"

    /// Whether a text to such a number can arrive.
    ///
    /// Mobile, VoIP and personal numbers can; fixed lines, freephone, premium
    /// and shared-cost, UAN, voicemail and pager numbers cannot, and carriers
    /// answer 30006 only after the message is paid for. `unknown` is let
    /// through: refusing it would lose real contacts stored before the type
    /// was recorded. `fixedLineOrMobile` is the tenant's choice (the
    /// `allow_fixed_line_or_mobile` setting): in the NANP every number is one.
    public func canReceiveSMS(allowingFixedLineOrMobile: Bool) -> Bool {
        switch self {
        case .mobile, .voip, .personal, .unknown: true
        case .fixedLineOrMobile: allowingFixedLineOrMobile
        case .fixedLine, .tollFree, .premiumRate, .sharedCost, .pager, .uan, .voicemail: false
        }
    }

    /// The SQL condition true when a contact's stored type cannot take a text:
    /// the one rule of ``canReceiveSMS(allowingFixedLineOrMobile:)`` for the
    /// campaign preview, the launch and the import's flags. `contact` and
    /// `tenant` are the aliases of the `contacts` and `tenants` rows.
    public static func cannotReceiveSMSCondition(contact: String, tenant: String) -> String {
        let never = allCases.filter { !$0.canReceiveSMS(allowingFixedLineOrMobile: true) }.map { "'\($0.rawValue)'" }
        return "(\(contact).number_type IN (\(never.joined(separator: ", "))) OR (\(contact).number_type = '\(fixedLineOrMobile.rawValue)' "
            + "AND NOT \(tenant).allow_fixed_line_or_mobile))"
    }

    /// ``phrase`` in SQL, for a text column holding a ``rawValue``.
    public static func phraseSQL(column: String) -> String {
        "CASE \(column) " + allCases.map { "WHEN '\($0.rawValue)' THEN '\($0.phrase)' " }.joined() + "ELSE 'a number of unknown type' END"
    }

    /// Words for error texts: "a toll-free number".
    public var phrase: String {
        switch self {
        case .mobile: "a mobile number"
        case .fixedLine: "a landline"
        case .fixedLineOrMobile: "a landline or mobile number"
        case .tollFree: "a toll-free number"
        case .premiumRate: "a premium-rate number"
        case .sharedCost: "a shared-cost number"
        case .voip: "a VoIP number"
        case .personal: "a personal number"
        case .pager: "a pager number"
        case .uan: "a company (universal access) number"
        case .voicemail: "a voicemail number"
        case .unknown: "a number of unknown type"
        }
    }
}
