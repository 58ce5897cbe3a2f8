import Curl
import Foundation

/// Polls `url` until it answers with `status` or `timeout` passes; returns the last response.
public func waitForHTTP(
    _ url: String, status: Int = 200, timeout: Duration = .seconds(30), client: CurlHTTPClient
) async throws -> HTTPClientResponse {
    let deadline = ContinuousClock.now + timeout
    var last: HTTPClientResponse?
    var lastError: (any Error)?
    while ContinuousClock.now < deadline {
        do {
            let response = try await client.execute(HTTPClientRequest(url: url, totalTimeout: .seconds(5)))
            if response.status == status { return response }
            last = response
        } catch {
            lastError = error
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    if let last { return last }
    throw lastError ?? ProcessRunner.Failure(description: "\(url) did not answer within \(timeout)")
}
