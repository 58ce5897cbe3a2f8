import Hummingbird
import SMSCore

/// What the UI needs from the API's request context: the API's authentication
/// middleware fills it, so the UI shares its sessions and tenant walls.
public protocol WebRequestContext: RequestContext {
    /// Echoed in `X-Request-Id` and shown on error pages.
    var requestID: String { get }
    /// The caller, when the request carries valid credentials.
    var principal: Principal? { get }
    /// The principal came from the session cookie (the UI accepts no other credential).
    var authenticatedByCookie: Bool { get }
    /// The peer's IP address, without the port.
    var remoteIP: String? { get }
}

/// The `session_id` cookie, shared by the API's `/auth/login` and the UI's login page.
public enum SessionCookie {
    public static let name = "session_id"

    public static func value(in headers: HTTPFields) -> String? {
        Cookies.value(named: name, in: headers)
    }

    /// HttpOnly and SameSite=Lax always; Secure when the site is served over https.
    public static func set(_ token: String, maxAge: Duration, secure: Bool) -> String {
        "\(name)=\(token); Path=/; Max-Age=\(maxAge.components.seconds); HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }

    public static func clear(secure: Bool) -> String {
        "\(name)=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax" + (secure ? "; Secure" : "")
    }
}

enum Cookies {
    static func value(named name: String, in headers: HTTPFields) -> String? {
        for header in headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == name, !parts[1].isEmpty { return parts[1] }
            }
        }
        return nil
    }
}
