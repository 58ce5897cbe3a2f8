import Foundation

/// A send job's status (`send_jobs.status`) and the sets the rest of the
/// product reasons with. docs/ARCHITECTURE.md, "A send job's life", draws the
/// whole machine; ``JobTransition`` is its table.
public enum JobStatus: String, Sendable, CaseIterable, Codable {
    case queued, sending, parked, deferred, sent, delivered, undelivered, failed, blocked, cancelled, unknown

    /// Waiting to be sent: a worker may claim it.
    public static let pending: Set<JobStatus> = [.queued, .deferred, .parked]
    /// Between a claim and the provider's answer, or sent without a known answer.
    public static let inFlight: Set<JobStatus> = [.sending, .unknown]
    /// Nothing more will happen to it except a later provider report (a
    /// `sent` job still waits for one; it is neither pending nor final).
    public static let final: Set<JobStatus> = [.delivered, .undelivered, .failed, .blocked, .cancelled]

    /// Whether a campaign with a job in this status is still running.
    public var keepsCampaignRunning: Bool { Self.pending.contains(self) || Self.inFlight.contains(self) }

    /// SQL text of a set, for `status = ANY($n::text[])`.
    static func names(_ set: Set<JobStatus>) -> [String] { set.map(\.rawValue).sorted() }

    /// How far a job is known to have gone at the provider. A provider report
    /// applies only when it moves the job forward: `delivered` ranks above
    /// `undelivered`/`failed` (the carrier's delivery receipt is the last
    /// word), and a late `sent` never undoes either.
    public var providerRank: Int {
        switch self {
        case .sent: 2
        case .undelivered, .failed: 3
        case .delivered: 4
        default: 1  // not known to be at the provider yet: pending, sending, unknown, blocked, cancelled
        }
    }

    /// The status a job in `self` moves to on a provider report of
    /// `reported`; nil when the report does not move it forward.
    public func settled(by reported: JobStatus) -> JobStatus? {
        reported.providerRank > providerRank ? reported : nil
    }
}

/// Every named move of a send job except a provider report (``JobStatus/settled(by:)``).
/// ``SendJobs`` is the only code that writes `send_jobs`; each of its writes
/// takes its `from` set from here, so a job in any other status is left alone
/// (the write is refused) and the table below is the whole rule.
public enum JobTransition: String, Sendable, CaseIterable {
    /// A worker takes a pending job (the claim; a job popped twice is claimed once).
    case claim
    /// The claimer starts an attempt: budget reserved, warmup counted (status unchanged).
    case admit
    /// A kill switch covers it: out of Redis until resume.
    case park
    /// Quiet hours, budget or warmup: waits in `delayed` until a time.
    case postpone
    /// Do-not-contact, opted out, no consent.
    case block
    /// The contact was deleted or the campaign cancelled while it was claimed.
    case drop
    /// The claim is given back unused (an attempt never started): a worker died
    /// before its attempt, or a park found the kill switch already lifted.
    case release
    /// The provider took it.
    case accept
    /// Certainly not sent (429, 503, refused connection): back to the queue with backoff.
    case retry
    /// Certainly not sent, and every attempt is used: failed, in the dead list.
    case giveUp
    /// The provider refused it for good.
    case reject
    /// The request may have reached the provider and no answer came: never re-sent blindly.
    case lose
    /// STOP, do-not-contact, contact deleted, campaign cancelled: a pending job never goes out.
    case cancel
    /// A lookup found no such message at the provider: send it again.
    case resend
    /// An operator retries a dead job.
    case revive

    public var from: Set<JobStatus> {
        switch self {
        case .claim, .cancel: JobStatus.pending
        case .admit, .park, .postpone, .block, .drop, .release, .lose: [.sending]
        // A slow answer may arrive after the reconciler marked the job unknown:
        // what the provider said is the better record.
        case .accept, .retry, .giveUp, .reject: [.sending, .unknown]
        case .resend: [.unknown]
        case .revive: [.failed]
        }
    }

    public var to: JobStatus {
        switch self {
        case .claim, .admit: .sending
        case .park: .parked
        case .postpone: .deferred
        case .block: .blocked
        case .drop, .cancel: .cancelled
        case .release, .retry, .resend, .revive: .queued
        case .accept: .sent
        case .giveUp, .reject: .failed
        case .lose: .unknown
        }
    }

    /// Where a job in `status` ends up; nil when the transition is refused.
    public func apply(to status: JobStatus) -> JobStatus? { from.contains(status) ? to : nil }

    var fromNames: [String] { JobStatus.names(from) }
}
