import Foundation
import Metrics
import Prometheus

/// The process's metrics: swift-metrics backed by one Prometheus registry,
/// rendered by `GET /metrics` on the API and the worker.
///
/// Metric names (the alert rules in infra/prometheus/alerts.yml use them):
/// - `smscrm_http_requests_total{method,route,status}`, `smscrm_http_request_duration_seconds` (API)
/// - `smscrm_webhook_signature_rejected_total{route}`, `smscrm_webhook_events_total{kind,outcome}`,
///   `smscrm_message_outcomes_total{status}` (whichever process applies the callback)
/// - `smscrm_jobs_processed_total{outcome}`, `smscrm_gate_decisions_total{gate,decision}`,
///   `smscrm_twilio_request_duration_seconds{outcome}`, `smscrm_twilio_errors_total{code}` (worker)
/// - gauges sampled by the worker: `smscrm_queue_depth{state}`, `smscrm_queue_number_depth{number}`,
///   `smscrm_webhook_lag_seconds`, `smscrm_budget_spent_cents{tenant,period}`,
///   `smscrm_budget_cap_cents{tenant,period}`, `smscrm_opt_out_rate_last_100_percent{tenant}`,
///   `smscrm_kill_switch_active{scope}`; and `smscrm_dependency_up{dependency}` on both.
public enum Telemetry {
    /// Bootstrapped on first use, once per process (swift-metrics allows one bootstrap).
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10), .seconds(30),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// Makes sure metrics recorded from now on reach the registry.
    public static func bootstrap() { _ = registry }

    /// The Prometheus text exposition of every metric.
    public static func render() -> String { registry.emitToString() }

    /// The content type of ``render()``.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    // MARK: Shared recorders

    public static func jobProcessed(_ outcome: JobOutcome) {
        Counter(label: "smscrm_jobs_processed_total", dimensions: [("outcome", outcome.label)]).increment()
        switch outcome {
        case .parked: gate(.killSwitch, "park")
        case .blocked(let gate): Self.gate(gate, "block")
        case .deferred(let gate, _): Self.gate(gate, "defer")
        default: break
        }
    }

    static func gate(_ gate: Gate, _ decision: String) {
        Counter(label: "smscrm_gate_decisions_total", dimensions: [("gate", gate.rawValue), ("decision", decision)]).increment()
    }

    /// A provider request's duration by outcome, and its error by HTTP status or provider code (typed fields, not the reason text).
    static func providerRequest(_ outcome: SendOutcome, duration: Duration) {
        let label: String
        var code: String?
        switch outcome {
        case .accepted: label = "accepted"
        case .retryable(let failure):
            label = "retryable"
            code = failure.httpStatus.map(String.init) ?? "not_sent"
        case .rejected(let errorCode, _, _):
            label = "rejected"
            code = String(errorCode)
        case .ambiguous(let failure):
            label = "ambiguous"
            code = failure.httpStatus.map(String.init) ?? "ambiguous"
        }
        Timer(label: "smscrm_twilio_request_duration_seconds", dimensions: [("outcome", label)], preferredDisplayUnit: .seconds)
            .record(duration: duration)
        if let code { Counter(label: "smscrm_twilio_errors_total", dimensions: [("code", code)]).increment() }
    }

    static func webhookApplied(kind: String, outcome: String) {
        Counter(label: "smscrm_webhook_events_total", dimensions: [("kind", kind), ("outcome", outcome)]).increment()
    }

    static func messageOutcome(_ status: String) {
        Counter(label: "smscrm_message_outcomes_total", dimensions: [("status", status)]).increment()
    }

    /// `smscrm_dependency_up` for PostgreSQL and Redis, from a dependency check.
    public static func dependencies(_ report: DependencyCheck.Report) {
        Gauge(label: "smscrm_dependency_up", dimensions: [("dependency", "postgres")]).record(report.postgres == nil ? 1 : 0)
        Gauge(label: "smscrm_dependency_up", dimensions: [("dependency", "redis")]).record(report.redis == nil ? 1 : 0)
    }
}

extension JobOutcome {
    /// The `outcome` label of `smscrm_jobs_processed_total`.
    public var label: String {
        switch self {
        case .skipped: "skipped"
        case .cancelled: "cancelled"
        case .parked: "parked"
        case .blocked: "blocked"
        case .deferred: "deferred"
        case .sent: "sent"
        case .retrying: "retrying"
        case .failed: "failed"
        case .dead: "dead"
        case .unknown: "unknown"
        }
    }
}
