import Foundation

/// The time zone a message lands in, for quiet hours.
///
/// The send path picks the zone in this order: the contact's own `timezone`,
/// then ``infer(from:)``, then the tenant's `timezone`. Inference therefore
/// answers only when the number alone pins the zone down and says `nil`
/// otherwise; a wrong guess would text someone at 3 a.m., while `nil` just
/// falls back to the tenant's zone.
public enum RecipientTimeZone {
    /// The zone `number` is in, when the number alone determines it.
    ///
    /// - Countries in a single zone (GB, IE, DE, FR, IN, NZ, SG, JP, …).
    /// - North American numbers by area code; an area code that spans zones
    ///   maps to the zone most of its people use, and 867 (three territories,
    ///   four zones) maps to nothing.
    /// - Australian geographic numbers by their area code and, for 08, the
    ///   next digit. Australian mobiles (04) give `nil`: they move with people.
    /// - Everything else (countries with several zones, global services) is `nil`.
    public static func infer(from number: PhoneNumber) -> TimeZone? {
        identifier(for: number).flatMap { TimeZone(identifier: $0) }
    }

    /// The IANA name behind ``infer(from:)``.
    static func identifier(for number: PhoneNumber) -> String? {
        let national = number.nationalSignificantNumber
        switch number.callingCode {
        case "1":
            return northAmericanZoneByAreaCode[String(national.prefix(3))]
        case "61" where number.country == "AU":
            return australianZone(national)
        case "34":
            // Canary Islands landlines are an hour behind the mainland;
            // mobiles cannot be told apart and get Madrid.
            let canaryLandline = ["822", "827", "828", "922", "928"].contains { national.hasPrefix($0) }
            return canaryLandline ? "Atlantic/Canary" : "Europe/Madrid"
        case "351":
            // Azores landlines are an hour behind Lisbon; Madeira keeps Lisbon time.
            let azoresLandline = ["292", "295", "296"].contains { national.hasPrefix($0) }
            return azoresLandline ? "Atlantic/Azores" : "Europe/Lisbon"
        default:
            return number.country.flatMap { singleZoneByCountry[$0] }
        }
    }

    /// Australian geographic area codes. Best effort for the 08 split: WA is
    /// 08 6 and 08 9, SA and NT share 08 8 with NT in 08 89.
    private static func australianZone(_ national: String) -> String? {
        switch national.first {
        // Lord Howe Island (+10:30/+11) shares 02 6563 with NSW; it is a few
        // hundred people, so NSW's zone is the documented answer for all of 02.
        case "2": "Australia/Sydney"
        // Victoria and Tasmania both use 03 and keep the same clock
        // (Australia/Hobart differs only in history).
        case "3": "Australia/Melbourne"
        case "7": "Australia/Brisbane"
        case "8":
            if national.hasPrefix("86") || national.hasPrefix("89") { "Australia/Perth" }
            else if national.hasPrefix("889") { "Australia/Darwin" }
            // Broken Hill (NSW) uses 08 80 and Adelaide time, so this is right for it too.
            else if national.hasPrefix("88") { "Australia/Adelaide" }
            else { nil }
        default: nil
        }
    }

    /// Canonical IANA name for a `timezone` field, or `nil` when the system's
    /// tz database does not know `s`.
    ///
    /// Every zone and link name is accepted, in any case, and a link is
    /// returned as the zone it stands for: "us/eastern" → "America/New_York",
    /// "UTC" → "Etc/UTC". Fixed-offset and POSIX-style zones ("EST",
    /// "EST5EDT", "Etc/GMT+5") are zones of their own and kept as they are.
    public static func validatedIdentifier(_ s: String) -> String? {
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, let name = TimeZoneNames.canonical(trimmed) else { return nil }
        return TimeZone(identifier: name) == nil ? nil : name
    }

    /// What to tell someone whose `s` was refused: the closest known name when
    /// there is one ("did you mean America/New_York?"), otherwise an example.
    public static func hint(for s: String) -> String {
        if let suggestion = TimeZoneNames.suggestion(for: s.trimmingCharacters(in: .whitespaces)) {
            return "did you mean \(suggestion)?"
        }
        return "use an IANA name such as Australia/Sydney"
    }

    // MARK: - Tables

    /// Countries whose people all keep one clock. Taken from tzdata's zone.tab
    /// (countries with a single entry), plus countries whose other zones keep
    /// the same time today or hold few people: DE (Busingen), NZ (the Chatham
    /// Islands), CN (Urumqi's unofficial time), CY, MY, UZ, EC (Galápagos) and
    /// UA (Crimea). ES and PT are refined in ``identifier(for:)``.
    static let singleZoneByCountry: [String: String] = [
        "AC": "Atlantic/St_Helena", "AD": "Europe/Andorra", "AE": "Asia/Dubai", "AF": "Asia/Kabul",
        "AG": "America/Antigua", "AI": "America/Anguilla", "AL": "Europe/Tirane", "AM": "Asia/Yerevan",
        "AO": "Africa/Luanda", "AS": "Pacific/Pago_Pago", "AT": "Europe/Vienna", "AW": "America/Aruba",
        "AX": "Europe/Mariehamn", "AZ": "Asia/Baku", "BA": "Europe/Sarajevo", "BB": "America/Barbados",
        "BD": "Asia/Dhaka", "BE": "Europe/Brussels", "BF": "Africa/Ouagadougou", "BG": "Europe/Sofia",
        "BH": "Asia/Bahrain", "BI": "Africa/Bujumbura", "BJ": "Africa/Porto-Novo", "BL": "America/St_Barthelemy",
        "BM": "Atlantic/Bermuda", "BN": "Asia/Brunei", "BO": "America/La_Paz", "BQ": "America/Kralendijk",
        "BS": "America/Nassau", "BT": "Asia/Thimphu", "BW": "Africa/Gaborone", "BY": "Europe/Minsk",
        "BZ": "America/Belize", "CC": "Indian/Cocos", "CF": "Africa/Bangui", "CG": "Africa/Brazzaville",
        "CH": "Europe/Zurich", "CI": "Africa/Abidjan", "CK": "Pacific/Rarotonga", "CM": "Africa/Douala",
        "CN": "Asia/Shanghai", "CO": "America/Bogota", "CR": "America/Costa_Rica", "CU": "America/Havana",
        "CV": "Atlantic/Cape_Verde", "CW": "America/Curacao", "CX": "Indian/Christmas", "CY": "Asia/Nicosia",
        "CZ": "Europe/Prague", "DE": "Europe/Berlin", "DJ": "Africa/Djibouti", "DK": "Europe/Copenhagen",
        "DM": "America/Dominica", "DO": "America/Santo_Domingo", "DZ": "Africa/Algiers", "EC": "America/Guayaquil",
        "EE": "Europe/Tallinn", "EG": "Africa/Cairo", "EH": "Africa/El_Aaiun", "ER": "Africa/Asmara",
        "ET": "Africa/Addis_Ababa", "FI": "Europe/Helsinki", "FJ": "Pacific/Fiji", "FK": "Atlantic/Stanley",
        "FO": "Atlantic/Faroe", "FR": "Europe/Paris", "GA": "Africa/Libreville", "GB": "Europe/London",
        "GD": "America/Grenada", "GE": "Asia/Tbilisi", "GF": "America/Cayenne", "GG": "Europe/Guernsey",
        "GH": "Africa/Accra", "GI": "Europe/Gibraltar", "GM": "Africa/Banjul", "GN": "Africa/Conakry",
        "GP": "America/Guadeloupe", "GQ": "Africa/Malabo", "GR": "Europe/Athens", "GS": "Atlantic/South_Georgia",
        "GT": "America/Guatemala", "GU": "Pacific/Guam", "GW": "Africa/Bissau", "GY": "America/Guyana",
        "HK": "Asia/Hong_Kong", "HN": "America/Tegucigalpa", "HR": "Europe/Zagreb", "HT": "America/Port-au-Prince",
        "HU": "Europe/Budapest", "IE": "Europe/Dublin", "IL": "Asia/Jerusalem", "IM": "Europe/Isle_of_Man",
        "IN": "Asia/Kolkata", "IO": "Indian/Chagos", "IQ": "Asia/Baghdad", "IR": "Asia/Tehran",
        "IS": "Atlantic/Reykjavik", "IT": "Europe/Rome", "JE": "Europe/Jersey", "JM": "America/Jamaica",
        "JO": "Asia/Amman", "JP": "Asia/Tokyo", "KE": "Africa/Nairobi", "KG": "Asia/Bishkek",
        "KH": "Asia/Phnom_Penh", "KM": "Indian/Comoro", "KN": "America/St_Kitts", "KP": "Asia/Pyongyang",
        "KR": "Asia/Seoul", "KW": "Asia/Kuwait", "KY": "America/Cayman", "LA": "Asia/Vientiane",
        "LB": "Asia/Beirut", "LC": "America/St_Lucia", "LI": "Europe/Vaduz", "LK": "Asia/Colombo",
        "LR": "Africa/Monrovia", "LS": "Africa/Maseru", "LT": "Europe/Vilnius", "LU": "Europe/Luxembourg",
        "LV": "Europe/Riga", "LY": "Africa/Tripoli", "MA": "Africa/Casablanca", "MC": "Europe/Monaco",
        "MD": "Europe/Chisinau", "ME": "Europe/Podgorica", "MF": "America/Marigot", "MG": "Indian/Antananarivo",
        "MK": "Europe/Skopje", "ML": "Africa/Bamako", "MM": "Asia/Yangon", "MO": "Asia/Macau",
        "MP": "Pacific/Saipan", "MQ": "America/Martinique", "MR": "Africa/Nouakchott", "MS": "America/Montserrat",
        "MT": "Europe/Malta", "MU": "Indian/Mauritius", "MV": "Indian/Maldives", "MW": "Africa/Blantyre",
        "MY": "Asia/Kuala_Lumpur", "MZ": "Africa/Maputo", "NA": "Africa/Windhoek", "NC": "Pacific/Noumea",
        "NE": "Africa/Niamey", "NF": "Pacific/Norfolk", "NG": "Africa/Lagos", "NI": "America/Managua",
        "NL": "Europe/Amsterdam", "NO": "Europe/Oslo", "NP": "Asia/Kathmandu", "NR": "Pacific/Nauru",
        "NU": "Pacific/Niue", "NZ": "Pacific/Auckland", "OM": "Asia/Muscat", "PA": "America/Panama",
        "PE": "America/Lima", "PH": "Asia/Manila", "PK": "Asia/Karachi", "PL": "Europe/Warsaw",
        "PM": "America/Miquelon", "PR": "America/Puerto_Rico", "PW": "Pacific/Palau", "PY": "America/Asuncion",
        "QA": "Asia/Qatar", "RE": "Indian/Reunion", "RO": "Europe/Bucharest", "RS": "Europe/Belgrade",
        "RW": "Africa/Kigali", "SA": "Asia/Riyadh", "SB": "Pacific/Guadalcanal", "SC": "Indian/Mahe",
        "SD": "Africa/Khartoum", "SE": "Europe/Stockholm", "SG": "Asia/Singapore", "SH": "Atlantic/St_Helena",
        "SI": "Europe/Ljubljana", "SJ": "Arctic/Longyearbyen", "SK": "Europe/Bratislava", "SL": "Africa/Freetown",
        "SM": "Europe/San_Marino", "SN": "Africa/Dakar", "SO": "Africa/Mogadishu", "SR": "America/Paramaribo",
        "SS": "Africa/Juba", "ST": "Africa/Sao_Tome", "SV": "America/El_Salvador", "SX": "America/Lower_Princes",
        "SY": "Asia/Damascus", "SZ": "Africa/Mbabane", "TA": "Atlantic/St_Helena", "TC": "America/Grand_Turk",
        "TD": "Africa/Ndjamena", "TG": "Africa/Lome", "TH": "Asia/Bangkok", "TJ": "Asia/Dushanbe",
        "TK": "Pacific/Fakaofo", "TL": "Asia/Dili", "TM": "Asia/Ashgabat", "TN": "Africa/Tunis",
        "TO": "Pacific/Tongatapu", "TR": "Europe/Istanbul", "TT": "America/Port_of_Spain", "TV": "Pacific/Funafuti",
        "TW": "Asia/Taipei", "TZ": "Africa/Dar_es_Salaam", "UA": "Europe/Kyiv", "UG": "Africa/Kampala",
        "UY": "America/Montevideo", "UZ": "Asia/Tashkent", "VA": "Europe/Vatican", "VC": "America/St_Vincent",
        "VE": "America/Caracas", "VG": "America/Tortola", "VI": "America/St_Thomas", "VN": "Asia/Ho_Chi_Minh",
        "VU": "Pacific/Efate", "WF": "Pacific/Wallis", "WS": "Pacific/Apia", "XK": "Europe/Belgrade",
        "YE": "Asia/Aden", "YT": "Indian/Mayotte", "ZA": "Africa/Johannesburg", "ZM": "Africa/Lusaka",
        "ZW": "Africa/Harare",
    ]

    /// NANP area codes by zone, grouped by state or province so a reader can
    /// check them against a map. Overlays share their parent's zone.
    ///
    /// Where an area code spans zones the entry is a best guess at where most
    /// of its people are, marked below; the fallback to the contact's or
    /// tenant's own zone is still available by setting `timezone` on the contact.
    static let northAmericanAreaCodesByZone: [(zone: String, areaCodes: String)] = [
        // CT, DC, DE, GA, MA, MD, ME, NC, NH, NJ, NY, OH, PA, RI, SC, VA, VT, WV.
        (
            "America/New_York",
            """
            203 475 860 959  202 771  302  229 404 470 478 678 706 762 770 912 943  339 351 413 508 617 774 781 857 978 \
            227 240 301 410 443 667  207  252 336 472 704 743 828 910 919 980 984  603 \
            201 551 609 640 732 848 856 862 908 973 \
            212 315 332 347 363 516 518 585 607 631 646 680 716 718 838 845 914 917 929 934 \
            216 220 234 283 326 330 380 419 436 440 513 567 614 740 937 \
            215 223 267 272 412 445 484 570 582 610 717 724 814 835 878  401  803 839 843 854 864 \
            276 434 540 571 703 757 804 826 948  802  304 681
            """
        ),
        // Florida east of the Apalachicola.
        ("America/New_York", "239 305 321 324 352 386 407 561 645 656 689 727 728 754 772 786 813 863 904 941 954"),
        // Kentucky: Louisville, Lexington and the east.
        ("America/New_York", "502 606 859"),
        // Tennessee: 865 Knoxville; 423 (Chattanooga, Tri-Cities) is mostly Eastern, best guess.
        ("America/New_York", "423 865"),
        // Michigan; four Upper Peninsula counties in 906 are Central.
        ("America/Detroit", "231 248 269 313 517 586 616 734 810 906 947 989"),
        // Indiana except the north-west; 812/930 include Evansville (Central), best guess Eastern.
        ("America/Indiana/Indianapolis", "260 317 463 574 765 812 930"),
        // AL, AR, IA, IL, KS, LA, MN, MO, MS, NE, ND, OK, SD, TN (middle, west), TX, WI.
        (
            "America/Chicago",
            """
            205 251 256 334 659 938  327 479 501 870  319 515 563 641 712 \
            217 224 309 312 331 447 464 618 630 708 730 773 779 815 847 861 872  316 620 785 913 \
            225 318 337 504 985  218 320 507 612 651 763 924 952  314 417 557 573 636 660 816 975 \
            228 601 662 769  402 531  405 539 572 580 918  615 629 731 901 931 \
            210 214 254 281 325 346 361 409 430 432 469 512 682 713 726 737 806 817 830 832 903 936 940 945 956 972 979 \
            262 274 353 414 534 608 715 920
            """
        ),
        // Best guesses for area codes split between Central and a neighbour:
        // 219 north-west Indiana (Gary, Hammond are Central); 270/364 western
        // Kentucky (Bowling Green, Owensboro, Paducah); 308 Nebraska outside
        // the panhandle; 448/850 the Florida panhandle (Pensacola and Panama
        // City outnumber Tallahassee); 605 South Dakota and 701 North Dakota
        // east of the Missouri.
        ("America/Chicago", "219 270 364 308 448 850 605 701"),
        // CO, MT, NM, UT, WY; 915 El Paso.
        ("America/Denver", "303 719 720 970 983  406  505 575  385 435 801  307  915"),
        // Idaho: the Boise south is Mountain, the panhandle Pacific; best guess.
        ("America/Boise", "208 986"),
        // Arizona keeps standard time all year (the Navajo Nation in 928 does not; best guess).
        ("America/Phoenix", "480 520 602 623 928"),
        // CA, NV, OR (541/458 includes Mountain-time Malheur County), WA.
        (
            "America/Los_Angeles",
            """
            209 213 279 310 323 341 350 369 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714 738 \
            747 760 805 818 820 831 840 858 909 916 925 949 951  702 725 775  458 503 541 971  206 253 360 425 509 564
            """
        ),
        // Alaska: a few Aleutian islands keep Hawaii-Aleutian time.
        ("America/Anchorage", "907"),
        ("Pacific/Honolulu", "808"),
        // US territories.
        ("America/Puerto_Rico", "787 939"), ("America/St_Thomas", "340"), ("Pacific/Guam", "671"),
        ("Pacific/Saipan", "670"), ("Pacific/Pago_Pago", "684"),
        // Canada. Quebec uses America/Toronto since tzdata merged Montreal into it.
        // 807 north-western Ontario: Thunder Bay is Eastern, Kenora Central; best guess.
        (
            "America/Toronto",
            """
            226 249 289 343 365 382 416 437 519 548 613 647 683 705 742 753 807 905 942 \
            263 354 367 418 438 450 468 514 579 581 819 873
            """
        ),
        ("America/Winnipeg", "204 431 584"),
        // Saskatchewan keeps Central Standard Time all year.
        ("America/Regina", "306 474 639"),
        ("America/Edmonton", "368 403 587 780 825"),
        // British Columbia; the East Kootenays in 250 are Mountain, best guess.
        ("America/Vancouver", "236 250 257 604 672 778"),
        ("America/Moncton", "428 506"),
        ("America/Halifax", "782 902"),
        // Newfoundland; Labrador (also 709) is mostly Atlantic time, best guess by population.
        ("America/St_Johns", "709 879"),
        // 867 (Yukon, Northwest Territories, Nunavut) spans four zones: deliberately absent.
        // The Caribbean and Bermuda.
        ("America/Nassau", "242"), ("America/Barbados", "246"), ("America/Anguilla", "264"),
        ("America/Antigua", "268"), ("America/Tortola", "284"), ("America/Cayman", "345"),
        ("Atlantic/Bermuda", "441"), ("America/Grenada", "473"), ("America/Grand_Turk", "649"),
        ("America/Jamaica", "658 876"), ("America/Montserrat", "664"), ("America/Lower_Princes", "721"),
        ("America/St_Lucia", "758"), ("America/Dominica", "767"), ("America/St_Vincent", "784"),
        ("America/Santo_Domingo", "809 829 849"), ("America/Port_of_Spain", "868"), ("America/St_Kitts", "869"),
    ]

    static let northAmericanZoneByAreaCode: [String: String] = Dictionary(
        northAmericanAreaCodesByZone.flatMap { entry in
            entry.areaCodes.split(whereSeparator: \.isWhitespace).map { (String($0), entry.zone) }
        },
        uniquingKeysWith: { first, _ in first }
    )
}
