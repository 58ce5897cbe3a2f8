import Foundation

/// Every name the system's tz database knows, each with its canonical zone.
///
/// CRMs export the backward-compatible links (`US/Eastern`, `Canada/Pacific`,
/// `Brazil/East`, `UTC`) and the fixed-offset and POSIX-style zones (`EST`,
/// `EST5EDT`, `CET`, `Etc/GMT+5`); before issue 16 imports refused 106 of the
/// 597 names. They are all accepted now and stored as the zone they stand
/// for, so `US/Eastern` is kept as `America/New_York`.
///
/// Read once from tzdata's compiled source, `/usr/share/zoneinfo/tzdata.zi`
/// (`Z name …` is a zone, `L target name` a link: tzdata's `backward` file is
/// in it). libphonenumber's C++ library has no time zone data, and
/// Foundation's `knownTimeZoneIdentifiers` lists no links, so this stays here.
enum TimeZoneNames {
    /// Lowercased name → canonical zone name.
    static let canonicalByLowercasedName: [String: String] = load()

    /// Canonical zone names, for suggestions.
    static let allNames: [String] = Array(Set(canonicalByLowercasedName.keys.map { canonicalCase[$0] ?? $0 })).sorted()

    /// The canonical zone for `name` (any case), or `nil` when the tz database has no such name.
    static func canonical(_ name: String) -> String? {
        canonicalByLowercasedName[name.lowercased()]
    }

    /// The known name closest to `name`, when it is close enough to be a slip
    /// ("America/New_Yrok", "Sydney", "australia/melborne").
    static func suggestion(for name: String) -> String? {
        let wanted = Array(name.lowercased().replacingOccurrences(of: " ", with: "_").utf8)
        guard !wanted.isEmpty, wanted.count <= 64 else { return nil }
        var best: (name: String, distance: Int)?
        for candidate in allNames {
            let lower = candidate.lowercased()
            let whole = editDistance(wanted, Array(lower.utf8))
            // "Sydney" names the city without its area.
            let city = lower.split(separator: "/").last.map { editDistance(wanted, Array($0.utf8)) } ?? whole
            let distance = min(whole, city)
            if distance < (best?.distance ?? Int.max) { best = (candidate, distance) }
        }
        guard let best, best.distance <= max(1, min(3, wanted.count / 4)) else { return nil }
        return canonical(best.name) ?? best.name
    }

    private static var canonicalCase: [String: String] {
        Dictionary(canonicalByLowercasedName.values.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
    }

    static func load(path: String = "/usr/share/zoneinfo/tzdata.zi") -> [String: String] {
        var result: [String: String] = [:]
        if let text = try? String(contentsOfFile: path, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ")
                if fields.count >= 2, fields[0] == "Z" {
                    result[fields[1].lowercased()] = String(fields[1])
                } else if fields.count >= 3, fields[0] == "L" {
                    result[fields[2].lowercased()] = String(fields[1])
                }
            }
        }
        // Links to links do not occur in tzdata, but a target must itself be a zone.
        for (name, target) in result where result[target.lowercased()] != target {
            if let resolved = result[target.lowercased()] { result[name] = resolved }
        }
        // Without tzdata.zi (a slim image), fall back to the zones Foundation knows.
        if result.isEmpty {
            for zone in TimeZone.knownTimeZoneIdentifiers { result[zone.lowercased()] = zone }
        }
        return result
    }

    /// Levenshtein distance over bytes; names are ASCII.
    private static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
