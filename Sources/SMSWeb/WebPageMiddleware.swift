import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The headers of every UI response, and UI errors as HTML pages with the request id.
///
/// The API's own headers forbid everything (it serves no HTML); UI pages need
/// their own: a strict CSP that still allows the UI's own scripts and styles (no
/// inline script or style anywhere, so `'self'` is enough), and
/// `Referrer-Policy: same-origin`, because with `no-referrer` browsers send
/// `Origin: null` on form posts and the API's Origin check refuses them
/// (measured on this platform; docs/ARCHITECTURE.md, "The admin web UI").
struct WebPageMiddleware<Context: WebRequestContext>: RouterMiddleware {
    let renderer: PageRenderer

    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as WebError {
            response = errorPage(error, request: request, context: context)
        } catch let error as any HTTPResponseError {
            let web: WebError =
                switch error.status {
                case .notFound: .notFound
                case .forbidden: .forbidden
                default: .badRequest((error as? HTTPError)?.body ?? error.status.reasonPhrase)
                }
            response = errorPage(web, request: request, context: context, status: error.status)
        } catch {
            context.logger.error("UI page failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            response = renderer.errorPage(
                status: .internalServerError, title: "Something went wrong",
                message: "The server could not show this page. Try again; if it keeps failing, give the request id to an operator.",
                requestID: context.requestID)
        }
        Self.applyHeaders(&response.headers)
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }

    static func applyHeaders(_ headers: inout HTTPFields) {
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[.xContentTypeOptions] = "nosniff"
    }

    private func errorPage(_ error: WebError, request: Request, context: Context, status: HTTPResponse.Status? = nil) -> Response {
        if case .loginRequired(let next) = error.kind {
            let location = "/ui/login?next=" + (next.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "/ui")
            // htmx follows HX-Redirect with a full page load; a 303 would be swapped into the fragment.
            if request.headers[HTTPField.Name("HX-Request")!] != nil {
                return Response(status: .unauthorized, headers: [HTTPField.Name("HX-Redirect")!: location])
            }
            return Response(status: .seeOther, headers: [.location: location])
        }
        return renderer.errorPage(status: status ?? error.status, title: error.title, message: error.message, requestID: context.requestID)
    }
}

extension CharacterSet {
    /// Query values: unreserved characters plus `/`, so a `next=/ui/…` stays readable.
    static let urlQueryValueAllowed: CharacterSet = {
        var set = CharacterSet.alphanumerics
        set.insert(charactersIn: "-._~/")
        return set
    }()
}
