import Crypto
import Foundation

/// CSRF tokens for the UI's forms and htmx requests, on top of the API's Origin check.
///
/// A token is an HMAC-SHA256 of a purpose keyed by a secret the attacker cannot read:
/// the session token for a logged-in user (it lives only in an HttpOnly cookie, so a
/// token cannot be computed without it, and every API replica can check it without a
/// shared key), and for the login form a random pre-session cookie (`ui_login`).
enum CSRFToken {
    static let sessionPurpose = "smscrm-ui-csrf-v1"
    static let loginPurpose = "smscrm-ui-login-v1"
    /// The pre-session cookie the login form's token is bound to.
    static let loginCookie = "ui_login"
    /// htmx sends the token in this header (web/static/app.js).
    static let header = "X-CSRF-Token"

    static func make(secret: String, purpose: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(purpose.utf8), using: SymmetricKey(data: Data(secret.utf8)))
        return Data(mac).map { String(format: "%02x", $0) }.joined()
    }

    /// Constant-time comparison of the submitted token with the expected one.
    static func isValid(_ submitted: String?, secret: String, purpose: String) -> Bool {
        guard let submitted else { return false }
        let expected = Array(make(secret: secret, purpose: purpose).utf8)
        let given = Array(submitted.utf8)
        guard expected.count == given.count else { return false }
        var difference: UInt8 = 0
        for index in expected.indices { difference |= expected[index] ^ given[index] }
        return difference == 0
    }
}
