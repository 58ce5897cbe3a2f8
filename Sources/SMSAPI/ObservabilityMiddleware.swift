import ConnectionPool
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import SMSCore
import ServiceLifecycle

/// Outermost middleware: counts and times every request by route template
/// and status (`smscrm_http_requests_total`, `smscrm_http_request_duration_seconds`)
/// and answers with `Server-Timing: db;dur=…, redis;dur=…, total;dur=…`
/// (milliseconds spent in PostgreSQL and Redis pools, and in all).
struct ObservabilityMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let clock = ContinuousClock()
        let start = clock.now
        let timing = OperationTiming()
        do {
            var response = try await OperationTiming.$current.withValue(timing) { try await next(request, context) }
            let elapsed = clock.now - start
            response.headers[HTTPField.Name("Server-Timing")!] = Self.serverTiming(timing.snapshot, total: elapsed)
            record(request, context: context, status: response.status.code, elapsed: elapsed)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            record(request, context: context, status: status, elapsed: clock.now - start)
            throw error
        }
    }

    private func record(_ request: Request, context: Context, status: Int, elapsed: Duration) {
        // The route template, never the raw path: ids would make one series per resource.
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route), ("status", String(status))]
        Counter(label: "smscrm_http_requests_total", dimensions: dimensions).increment()
        Timer(label: "smscrm_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
            .record(duration: elapsed)
    }

    static func serverTiming(_ pools: [String: Duration], total: Duration) -> String {
        func milliseconds(_ duration: Duration) -> String {
            let value = Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
            return String(format: "%.1f", value)
        }
        let db = pools["postgres"] ?? .zero
        let redis = pools["redis"] ?? .zero
        return "db;dur=\(milliseconds(db)), redis;dur=\(milliseconds(redis)), total;dur=\(milliseconds(total))"
    }
}

/// Keeps `smscrm_dependency_up` current on the API (the worker's sampler does the same there).
struct DependencySampler: Service {
    let services: AppServices
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let report = await services.dependencyCheck.run()
            Telemetry.dependencies(report)
            await sleepUnlessShuttingDown(for: interval)
        }
    }
}

extension DependencySampler: CustomStringConvertible {
    var description: String { "DependencySampler(every: \(interval))" }
}
