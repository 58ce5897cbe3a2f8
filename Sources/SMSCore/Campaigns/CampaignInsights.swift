import Foundation
import Postgres

/// Renders a campaign's body for one contact: the template with the contact's
/// values, then the tenant's opt-out footer. Launch uses the same function, so
/// the preview shows exactly what would be sent.
public enum CampaignMessage {
    public static func render(template: MessageTemplate, contact values: [String: String], footer: String?) -> String {
        let body = template.render(values)
        guard let footer = footer?.trimmingCharacters(in: .whitespacesAndNewlines), !footer.isEmpty else { return body }
        return body + "\n" + footer
    }

    /// The values a template can use, from a contact's columns. `attributesJSON`
    /// is nil when the template reads no attribute: decoding it costs more than
    /// the rest of a render, a million times over in a launch.
    static func values(phone: String, firstName: String?, lastName: String?, email: String?, attributesJSON: String?) -> [String: String] {
        var values = ["phone": phone]
        if let firstName { values["first_name"] = firstName }
        if let lastName { values["last_name"] = lastName }
        if let email { values["email"] = email }
        if let attributesJSON, let attributes = try? StorageJSON.decode([String: JSONValue].self, from: attributesJSON) {
            for (key, value) in attributes { if let text = value.text { values["attributes.\(key)"] = text } }
        }
        return values
    }
}

/// What a launch would do, without doing it.
public struct CampaignPreview: Sendable, Encodable {
    public struct Excluded: Sendable, Encodable {
        public var doNotContact: Int
        public var optedOut: Int
        public var noConsent: Int
        /// Numbers that cannot receive a text (landlines, freephone, premium, …; fixed
        /// line or mobile only when the tenant's `allow_fixed_line_or_mobile` is off).
        public var notSMSCapable: Int
        /// All of them.
        public var total: Int { doNotContact + optedOut + noConsent + notSMSCapable }
    }

    public struct Sample: Sendable, Encodable {
        public var contactId: String
        public var body: String
        public var encoding: MessageEncoding
        public var segments: Int
    }

    /// Distinct contacts in the campaign's lists.
    public var audience: Int
    /// Who would get a message.
    public var recipients: Int
    /// Each contact counts once, under the first reason in this order.
    public var excluded: Excluded
    public var samples: [Sample]
    public var estimatedSegments: Int
    public var estimatedCostCents: Decimal
    /// True when the estimate comes from a sample of the recipients.
    public var estimateIsSampled: Bool
    /// Plain sentences on why recipients are missing or the launch would be
    /// refused (consent required, no lists, no numbers); empty when nothing stands out.
    public var notes: [String] = []

    static func notes(campaign: Campaign, audience: Int, excluded: Excluded) -> [String] {
        var notes: [String] = []
        if campaign.listIds.isEmpty {
            notes.append("The campaign has no lists (list_ids): nobody would get it.")
        } else if audience == 0 {
            notes.append("The campaign's lists have no contacts.")
        }
        if excluded.noConsent > 0 {
            notes.append(
                "\(excluded.noConsent) contact\(excluded.noConsent == 1 ? " has" : "s have") no consent_at, and this tenant requires consent "
                    + "(consent_required is on by default): they are excluded. Record consent when importing or creating contacts, "
                    + "or turn consent_required off for the tenant where the law allows.")
        }
        if excluded.notSMSCapable > 0 {
            notes.append(
                "\(excluded.notSMSCapable) contact\(excluded.notSMSCapable == 1 ? "'s number" : "s' numbers") cannot receive text messages "
                    + "(landlines, freephone, premium-rate or shared-cost numbers; see each contact's number_type): they are excluded.")
        }
        if campaign.sendingNumberIds.isEmpty {
            notes.append("The campaign has no sending numbers (sending_number_ids): a launch would be refused.")
        }
        return notes
    }
}

/// Counts for `GET …/stats`.
public struct CampaignStats: Sendable, Encodable {
    public var jobs: [String: Int]
    public var totalJobs: Int
    /// delivered ÷ (delivered + undelivered + failed); nil before any outcome.
    public var deliveryRate: Double?
    /// Recipients who opted out after launch ÷ messages sent; nil before any send.
    public var optOutRate: Double?
    /// Twilio's price where known, else what is still reserved.
    public var spendCents: Decimal
    /// Messages delivered within 5 minutes of their send ÷ messages sent, in %
    /// (the runbook's ≥ 95 % SLO); nil before any send.
    public var deliveredWithin5MinPercent: Double?
    /// Why messages failed or were not delivered, most frequent first.
    public var failureReasons: [FailureReason]
    /// Of the last 100 messages sent, the share whose recipient opted out
    /// after it, in % (the runbook warns above 3 %); nil before any send.
    public var optOutRateLast100Percent: Double?

    enum CodingKeys: String, CodingKey {
        case jobs, totalJobs, deliveryRate, optOutRate, spendCents, failureReasons
        case deliveredWithin5MinPercent = "delivered_within_5_min_percent"
        case optOutRateLast100Percent = "opt_out_rate_last_100_percent"
    }

    public struct FailureReason: Sendable, Encodable, Equatable {
        public var reason: String
        public var count: Int
    }
}

public struct CampaignInsights: Sendable {
    let postgres: PostgresClient
    let prices: PriceTable
    /// Above this many recipients the cost is estimated from a sample.
    public var exactEstimateLimit = 10_000

    public init(postgres: PostgresClient, prices: PriceTable = .standard) {
        self.postgres = postgres
        self.prices = prices
    }

    /// The audience SQL: contacts in any of the campaign's lists, once each,
    /// with the reason (if any) they would be skipped.
    static let audience = """
        WITH audience AS (
            SELECT DISTINCT ON (c.id) c.id, c.phone_e164, c.first_name, c.last_name, c.email, c.attributes::text AS attributes,
                   CASE WHEN EXISTS (SELECT 1 FROM do_not_contact d WHERE d.tenant_id = c.tenant_id AND d.phone_e164 = c.phone_e164)
                             THEN 'dnc'
                        WHEN c.opted_out_at IS NOT NULL THEN 'opted_out'
                        WHEN t.consent_required AND c.consent_at IS NULL THEN 'no_consent'
                        WHEN \(PhoneNumberType.cannotReceiveSMSCondition(contact: "c", tenant: "t")) THEN 'not_sms_capable'
                   END AS excluded
            FROM campaign_lists cl
            JOIN contact_list_members m ON m.tenant_id = cl.tenant_id AND m.list_id = cl.list_id
            JOIN contacts c ON c.tenant_id = m.tenant_id AND c.id = m.contact_id
            JOIN tenants t ON t.id = cl.tenant_id
            WHERE cl.tenant_id = $1::uuid AND cl.campaign_id = $2::uuid
            ORDER BY c.id
        )
        """

    public func preview(tenantID: String, campaign: Campaign, footer: String?) async throws -> CampaignPreview {
        let template = try MessageTemplate(campaign.bodyTemplate, allowedPlaceholders: MessageTemplate.standardPlaceholders)
        let limit = exactEstimateLimit
        let prices = self.prices
        return try await postgres.withConnection { connection in
            let counts = try connection.query(
                Self.audience + """
                    SELECT count(*) AS audience,
                           count(*) FILTER (WHERE excluded = 'dnc') AS dnc,
                           count(*) FILTER (WHERE excluded = 'opted_out') AS opted_out,
                           count(*) FILTER (WHERE excluded = 'no_consent') AS no_consent,
                           count(*) FILTER (WHERE excluded = 'not_sms_capable') AS not_sms_capable
                    FROM audience
                    """, tenantID, campaign.id)[0]
            let audience = try counts.decode("audience", as: Int.self)
            let excluded = CampaignPreview.Excluded(
                doNotContact: try counts.decode("dnc"), optedOut: try counts.decode("opted_out"),
                noConsent: try counts.decode("no_consent"), notSMSCapable: try counts.decode("not_sms_capable"))
            let recipients = audience - excluded.total
            // Every recipient up to the limit, else an even sample of that size.
            let rows = try connection.query(
                Self.audience + """
                    SELECT id::text, phone_e164, first_name, last_name, email, attributes FROM audience
                    WHERE excluded IS NULL
                    ORDER BY CASE WHEN $3::int <= $4::int THEN 0 ELSE random() END, id
                    LIMIT $4
                    """, tenantID, campaign.id, recipients, limit)
            var samples: [CampaignPreview.Sample] = []
            var segments = 0
            var cost = Decimal(0)
            for row in rows {
                let phone: String = try row.decode("phone_e164")
                let values = CampaignMessage.values(
                    phone: phone, firstName: try row.decodeIfPresent("first_name"), lastName: try row.decodeIfPresent("last_name"),
                    email: try row.decodeIfPresent("email"),
                    attributesJSON: template.readsAttributes ? try row.decode("attributes") : nil)
                let body = CampaignMessage.render(template: template, contact: values, footer: footer)
                let count = MessageSegments.calculate(body)
                segments += count.segments
                cost += prices.estimate(segments: count.segments, toE164: phone)
                if samples.count < 3 {
                    samples.append(.init(contactId: try row.decode("id"), body: body, encoding: count.encoding, segments: count.segments))
                }
            }
            let sampled = rows.count < recipients
            if sampled, !rows.isEmpty {
                let scale = Decimal(recipients) / Decimal(rows.count)
                cost *= scale
                segments = Int((Double(segments) * Double(recipients) / Double(rows.count)).rounded())
            }
            var rounded = Decimal()
            var exact = cost
            NSDecimalRound(&rounded, &exact, 2, .up)
            return CampaignPreview(
                audience: audience, recipients: recipients, excluded: excluded, samples: samples, estimatedSegments: segments,
                estimatedCostCents: rounded, estimateIsSampled: sampled,
                notes: CampaignPreview.notes(campaign: campaign, audience: audience, excluded: excluded))
        }
    }

    public func stats(tenantID: String, campaign: Campaign) async throws -> CampaignStats {
        try await report(tenantID: tenantID, campaignID: campaign.id)
    }

    /// The delivery report for one campaign, or with a nil `campaignID` for the
    /// whole tenant (`GET /tenants/{id}/stats`).
    public func report(tenantID: String, campaignID: String?) async throws -> CampaignStats {
        try await postgres.withConnection { connection in
            var jobs: [String: Int] = [:]
            for status in JobStatus.allCases.map(\.rawValue) {
                jobs[status] = 0
            }
            var spend = Decimal(0)
            for row in try connection.query(
                """
                SELECT status, count(*) AS n, coalesce(sum(coalesce(cost_cents, reserved_cents)), 0) AS spend
                FROM send_jobs WHERE tenant_id = $1::uuid AND ($2::uuid IS NULL OR campaign_id = $2::uuid) GROUP BY status
                """, tenantID, campaignID)
            {
                jobs[try row.decode("status", as: String.self)] = try row.decode("n", as: Int.self)
                spend += try row.decode("spend", as: Decimal.self)
            }
            let outcomes = (jobs["delivered"] ?? 0) + (jobs["undelivered"] ?? 0) + (jobs["failed"] ?? 0)
            let sent = (jobs["sent"] ?? 0) + (jobs["delivered"] ?? 0) + (jobs["undelivered"] ?? 0)
            let timing = try connection.query(
                """
                SELECT count(*) FILTER (WHERE j.status = 'delivered' AND j.delivered_at <= j.sent_at + interval '5 minutes') AS fast,
                       count(DISTINCT j.contact_id) FILTER (WHERE c.opted_out_at >= k.launched_at) AS opted_out
                FROM send_jobs j
                JOIN campaigns k ON k.id = j.campaign_id
                LEFT JOIN contacts c ON c.tenant_id = j.tenant_id AND c.id = j.contact_id
                WHERE j.tenant_id = $1::uuid AND ($2::uuid IS NULL OR j.campaign_id = $2::uuid)
                  AND j.status IN ('sent', 'delivered', 'undelivered')
                """, tenantID, campaignID)[0]
            let fast: Int = try timing.decode("fast")
            let optedOut: Int = try timing.decode("opted_out")
            let reasons = try connection.query(
                """
                SELECT coalesce(failure_reason, status) AS reason, count(*) AS n FROM send_jobs
                WHERE tenant_id = $1::uuid AND ($2::uuid IS NULL OR campaign_id = $2::uuid) AND status IN ('failed', 'undelivered')
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
                """, tenantID, campaignID
            ).map { CampaignStats.FailureReason(reason: try $0.decode("reason"), count: try $0.decode("n")) }
            // The rolling window the runbook's opt-out alert watches: the last 100 messages sent.
            let window = try connection.query(
                """
                WITH recent AS (
                    SELECT j.tenant_id, j.contact_id, j.sent_at FROM send_jobs j
                    WHERE j.tenant_id = $1::uuid AND ($2::uuid IS NULL OR j.campaign_id = $2::uuid) AND j.sent_at IS NOT NULL
                    ORDER BY j.sent_at DESC LIMIT 100
                )
                SELECT count(*) AS n, count(*) FILTER (WHERE c.opted_out_at >= r.sent_at) AS opted_out
                FROM recent r LEFT JOIN contacts c ON c.tenant_id = r.tenant_id AND c.id = r.contact_id
                """, tenantID, campaignID)[0]
            let windowSize: Int = try window.decode("n")
            let windowOptOuts: Int = try window.decode("opted_out")
            return CampaignStats(
                jobs: jobs, totalJobs: jobs.values.reduce(0, +),
                deliveryRate: outcomes == 0 ? nil : Double(jobs["delivered"] ?? 0) / Double(outcomes),
                optOutRate: sent == 0 ? nil : Double(optedOut) / Double(sent), spendCents: spend,
                deliveredWithin5MinPercent: sent == 0 ? nil : Double(fast) * 100 / Double(sent),
                failureReasons: reasons,
                optOutRateLast100Percent: windowSize == 0 ? nil : Double(windowOptOuts) * 100 / Double(windowSize))
        }
    }
}
