import Crypto
import Foundation

/// The admin UI's third-party files, as `WEB_DIR/vendor.lock` lists them, checked by sha256.
///
/// `scripts/web-assets.sh` installs them into `WEB_DIR/vendor/`; nothing third-party is committed.
/// The API checks them at start-up and refuses to start with the UI on when one is missing or
/// altered, so a half-installed or tampered UI never reaches a browser (issue 13).
public struct AssetManifest: Sendable {
    /// One locked file.
    public struct Entry: Sendable, Equatable {
        public var file: String
        public var sha256: String
    }

    public var entries: [Entry]

    /// Reads `vendor.lock` in `directory`: lines of `file sha256 source`, `#` comments.
    public static func load(directory: String) throws(WebSetupError) -> AssetManifest {
        let path = directory + "/vendor.lock"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw WebSetupError("\(path) is missing: WEB_DIR must point at the repository's web/ folder")
        }
        var entries: [Entry] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            guard fields.count >= 2, fields[1].count == 64 else { throw WebSetupError("\(path): malformed line '\(line)'") }
            entries.append(Entry(file: String(fields[0]), sha256: String(fields[1]).lowercased()))
        }
        return AssetManifest(entries: entries)
    }

    /// Reads every locked file from `vendorDirectory` and checks its hash; returns the contents by file name.
    /// - Throws: ``WebSetupError`` naming every missing or altered file and the command that fixes it.
    public func verify(vendorDirectory: String) throws(WebSetupError) -> [String: Data] {
        var files: [String: Data] = [:]
        var problems: [String] = []
        for entry in entries {
            let path = vendorDirectory + "/" + entry.file
            guard let data = FileManager.default.contents(atPath: path) else {
                problems.append("\(path) is missing")
                continue
            }
            let digest = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
            guard digest == entry.sha256 else {
                problems.append("\(path) has sha256 \(digest), vendor.lock expects \(entry.sha256)")
                continue
            }
            files[entry.file] = data
        }
        guard problems.isEmpty else {
            throw WebSetupError(
                "the admin UI's assets are not as locked: " + problems.joined(separator: "; ")
                    + ". Run scripts/web-assets.sh, or set WEB_UI=off to run the API without the UI")
        }
        return files
    }
}

/// Why the UI could not be set up at start-up; the message says what to do.
public struct WebSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }
}
