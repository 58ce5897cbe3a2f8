import Foundation
import Logging
import Metrics
import Postgres
import SMSCore
import ServiceLifecycle
import Synchronization

/// Samples the gauges that describe state rather than events: queue depths,
/// webhook lag, budgets, the rolling opt-out rate, the kill switches and
/// whether PostgreSQL and Redis answer. Every worker samples (each scrape
/// target reports the shared state; the alert rules use max()).
struct MetricsSampler: Service {
    let services: AppServices
    let queue: SendQueue
    let webhooks: TwilioWebhooks
    let interval: Duration
    let logger: Logger
    /// Numbers given a depth gauge, so one that drained is set back to 0.
    private let reportedNumbers = NumberSet()

    final class NumberSet: Sendable {
        let value = Mutex<Set<String>>([])
    }

    init(services: AppServices, queue: SendQueue, webhooks: TwilioWebhooks, interval: Duration, logger: Logger) {
        self.services = services
        self.queue = queue
        self.webhooks = webhooks
        self.interval = interval
        self.logger = logger
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await sample()
            await sleepUnlessShuttingDown(for: interval)
        }
    }

    func sample() async {
        let report = await services.dependencyCheck.run()
        Telemetry.dependencies(report)
        do {
            let depth = try await queue.depth()
            for (state, value) in [("queued", depth.queued), ("active", depth.active), ("delayed", depth.delayed), ("dead", depth.dead)] {
                Gauge(label: "smscrm_queue_depth", dimensions: [("state", state)]).record(value)
            }
            let depths = try await queue.numberDepths()
            let drained = reportedNumbers.value.withLock { reported in
                let gone = reported.subtracting(depths.keys)
                reported = Set(depths.keys)
                return gone
            }
            for number in drained { Gauge(label: "smscrm_queue_number_depth", dimensions: [("number", number)]).record(0) }
            for (number, value) in depths {
                Gauge(label: "smscrm_queue_number_depth", dimensions: [("number", number)]).record(value)
            }
        } catch {
            logger.debug("queue metrics unavailable", metadata: ["error": "\(error)"])
        }
        do {
            Gauge(label: "smscrm_webhook_lag_seconds").record(try await webhooks.lagSeconds())
            try await sampleTenants()
        } catch {
            logger.debug("database metrics unavailable", metadata: ["error": "\(error)"])
        }
    }

    private func sampleTenants() async throws {
        let postgres = services.postgres
        // Spend in the current periods (a period that has rolled over has spent nothing yet).
        for row in try await postgres.query(
            """
            SELECT t.id::text,
                   CASE WHEN b.daily_period = (now() AT TIME ZONE t.timezone)::date THEN b.daily_spent_cents ELSE 0 END::float8 AS daily,
                   CASE WHEN b.monthly_period = date_trunc('month', now() AT TIME ZONE t.timezone)::date
                        THEN b.monthly_spent_cents ELSE 0 END::float8 AS monthly,
                   t.daily_budget_cents::float8 AS daily_cap, t.monthly_budget_cents::float8 AS monthly_cap
            FROM tenants t JOIN budgets b ON b.tenant_id = t.id
            """)
        {
            let tenant: String = try row.decode(at: 0)
            for period in ["daily", "monthly"] {
                Gauge(label: "smscrm_budget_spent_cents", dimensions: [("tenant", tenant), ("period", period)])
                    .record(try row.decode(period, as: Double.self))
                if let cap: Double = try row.decodeIfPresent("\(period)_cap") {
                    Gauge(label: "smscrm_budget_cap_cents", dimensions: [("tenant", tenant), ("period", period)]).record(cap)
                }
            }
        }
        // The runbook's rolling window: of each tenant's last 100 messages, the share that led to an opt-out.
        for row in try await postgres.query(
            """
            SELECT t.id::text, w.rate FROM tenants t
            CROSS JOIN LATERAL (
                SELECT (count(*) FILTER (WHERE c.opted_out_at >= r.sent_at) * 100.0 / count(*))::float8 AS rate, count(*) AS n
                FROM (SELECT contact_id, sent_at FROM send_jobs j
                      WHERE j.tenant_id = t.id AND j.sent_at IS NOT NULL ORDER BY j.sent_at DESC LIMIT 100) r
                LEFT JOIN contacts c ON c.tenant_id = t.id AND c.id = r.contact_id
            ) w
            WHERE w.n > 0
            """)
        {
            Gauge(label: "smscrm_opt_out_rate_last_100_percent", dimensions: [("tenant", try row.decode(at: 0, as: String.self))])
                .record(try row.decode(at: 1, as: Double.self))
        }
        let switches = try await postgres.query(
            """
            SELECT (SELECT count(*) FROM platform_settings WHERE paused_at IS NOT NULL) AS global,
                   (SELECT count(*) FROM tenants WHERE paused_at IS NOT NULL) AS tenants,
                   (SELECT count(*) FROM campaigns WHERE status = 'paused') AS campaigns
            """)[0]
        for scope in ["global", "tenants", "campaigns"] {
            Gauge(label: "smscrm_kill_switch_active", dimensions: [("scope", scope)]).record(try switches.decode(scope, as: Int.self))
        }
    }
}

extension MetricsSampler: CustomStringConvertible {
    var description: String { "MetricsSampler(every: \(interval))" }
}
