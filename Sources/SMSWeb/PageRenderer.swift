import Foundation
import HTTPTypes
import Hummingbird
import Mustache

/// Renders the UI's mustache templates (`WEB_DIR/templates`): one layout with
/// partials, HTML escaping on for every `{{value}}`.
struct PageRenderer: Sendable {
    let library: MustacheLibrary

    static func load(templatesDirectory: String) async throws -> PageRenderer {
        guard FileManager.default.fileExists(atPath: templatesDirectory + "/layout.mustache") else {
            throw WebSetupError("\(templatesDirectory)/layout.mustache is missing: WEB_DIR must point at the repository's web/ folder")
        }
        return PageRenderer(library: try await MustacheLibrary(directory: templatesDirectory))
    }

    /// Renders `template` with `values` as an HTML response.
    func page(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        guard let html = library.render(values, withTemplate: template) else {
            return Response(
                status: .internalServerError, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: "template \(template) is missing")))
        }
        var fields = headers
        fields[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func errorPage(status: HTTPResponse.Status, title: String, message: String, requestID: String) -> Response {
        page(
            "error", ["title": title, "message": message, "request_id": requestID, "status": status.code], status: status)
    }
}
