import HTTPTypes

/// A refusal the UI answers with an HTML page (or, for the login redirect, a 303).
struct WebError: Error, Sendable {
    enum Kind: Sendable {
        case notFound
        case forbidden
        case csrfRejected
        case badRequest(String)
        /// No session: go to the login page and come back to `next` afterwards.
        case loginRequired(next: String)
    }

    var kind: Kind

    static let notFound = WebError(kind: .notFound)
    static let forbidden = WebError(kind: .forbidden)
    static let csrfRejected = WebError(kind: .csrfRejected)
    static func badRequest(_ message: String) -> WebError { WebError(kind: .badRequest(message)) }

    var status: HTTPResponse.Status {
        switch kind {
        case .notFound: .notFound
        case .forbidden, .csrfRejected: .forbidden
        case .badRequest: .badRequest
        case .loginRequired: .seeOther
        }
    }

    var title: String {
        switch kind {
        case .notFound: "Page not found"
        case .forbidden: "Not allowed"
        case .csrfRejected: "Form expired"
        case .badRequest: "Request not understood"
        case .loginRequired: "Log in"
        }
    }

    var message: String {
        switch kind {
        case .notFound: "There is no such page, or it belongs to a tenant you are not a member of."
        case .forbidden: "Your role in this tenant does not allow this."
        case .csrfRejected: "The form's security token was missing or wrong. Go back, reload the page and try again."
        case .badRequest(let message): message
        case .loginRequired: "Log in to continue."
        }
    }
}
