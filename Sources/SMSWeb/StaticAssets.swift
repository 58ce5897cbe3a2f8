import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// The UI's static files, read once at start-up and served from memory under
/// `/assets/` (own files from `WEB_DIR/static`) and `/assets/vendor/` (the locked
/// third-party files). Cached by browsers for an hour, revalidated by ETag.
struct StaticAssets: Sendable {
    struct File: Sendable {
        var data: ByteBuffer
        var contentType: String
        var etag: String
    }

    var files: [String: File]

    static func load(webDirectory: String) throws(WebSetupError) -> StaticAssets {
        let manifest = try AssetManifest.load(directory: webDirectory)
        var files: [String: File] = [:]
        for (name, data) in try manifest.verify(vendorDirectory: webDirectory + "/vendor") {
            files["vendor/" + name] = file(name: name, data: data)
        }
        let ownDirectory = webDirectory + "/static"
        let own = (try? FileManager.default.contentsOfDirectory(atPath: ownDirectory)) ?? []
        for name in own where !name.hasPrefix(".") {
            guard let data = FileManager.default.contents(atPath: ownDirectory + "/" + name) else { continue }
            files[name] = file(name: name, data: data)
        }
        guard files["app.css"] != nil, files["app.js"] != nil else {
            throw WebSetupError("\(ownDirectory) must hold app.css and app.js: WEB_DIR must point at the repository's web/ folder")
        }
        return StaticAssets(files: files)
    }

    private static func file(name: String, data: Data) -> File {
        let type =
            if name.hasSuffix(".js") { "text/javascript; charset=utf-8" } else if name.hasSuffix(".css") { "text/css; charset=utf-8" } else if name.hasSuffix(".svg") {
                "image/svg+xml"
            } else { "application/octet-stream" }
        let digest = SHA256.hash(data: data).prefix(16).map { String(format: "%02x", $0) }.joined()
        return File(data: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"")
    }

    func response(for path: String, request: Request) -> Response? {
        guard let file = files[path] else { return nil }
        var headers: HTTPFields = [
            .contentType: file.contentType, .eTag: file.etag, .cacheControl: "public, max-age=3600",
            .xContentTypeOptions: "nosniff",
        ]
        headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] = "same-origin"
        if request.headers[.ifNoneMatch] == file.etag { return Response(status: .notModified, headers: headers) }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: file.data))
    }
}
