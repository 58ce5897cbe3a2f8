import Foundation
import SMSCore
import Testing

@Suite("Send job statuses and transitions")
struct JobStatusTests {
    /// The whole machine, written out: from which statuses each transition
    /// moves a job, and where to. Every other pair is refused.
    static let table: [(JobTransition, [JobStatus], JobStatus)] = [
        (.claim, [.queued, .deferred, .parked], .sending),
        (.admit, [.sending], .sending),
        (.park, [.sending], .parked),
        (.postpone, [.sending], .deferred),
        (.block, [.sending], .blocked),
        (.drop, [.sending], .cancelled),
        (.release, [.sending], .queued),
        (.accept, [.sending, .unknown], .sent),
        (.retry, [.sending, .unknown], .queued),
        (.giveUp, [.sending, .unknown], .failed),
        (.reject, [.sending, .unknown], .failed),
        (.lose, [.sending], .unknown),
        (.cancel, [.queued, .deferred, .parked], .cancelled),
        (.resend, [.unknown], .queued),
        (.revive, [.failed], .queued),
    ]

    @Test("every transition from every status goes where the table says, and every other pair is refused")
    func transitionTable() {
        #expect(Self.table.count == JobTransition.allCases.count)
        for (transition, from, to) in Self.table {
            for status in JobStatus.allCases {
                #expect(transition.apply(to: status) == (from.contains(status) ? to : nil), "\(transition) from \(status)")
            }
        }
    }

    @Test("the pending, in-flight and final sets do not overlap, and with sent they cover every status")
    func statusSets() {
        #expect(JobStatus.pending.isDisjoint(with: JobStatus.inFlight))
        #expect(JobStatus.pending.isDisjoint(with: JobStatus.final))
        #expect(JobStatus.inFlight.isDisjoint(with: JobStatus.final))
        #expect(JobStatus.pending.union(JobStatus.inFlight).union(JobStatus.final).union([.sent]) == Set(JobStatus.allCases))
        #expect(JobStatus.allCases.filter(\.keepsCampaignRunning).sorted { $0.rawValue < $1.rawValue } == [.deferred, .parked, .queued, .sending, .unknown])
    }

    @Test("every Twilio status maps to one job status, partially_delivered included, and non-outbound ones to none")
    func providerMapping() {
        let cases: [(String, JobStatus?)] = [
            ("accepted", .sent), ("scheduled", .sent), ("queued", .sent), ("sending", .sent), ("sent", .sent),
            ("delivered", .delivered), ("read", .delivered), ("partially_delivered", .delivered), ("DELIVERED", .delivered),
            ("undelivered", .undelivered), ("failed", .failed), ("canceled", .failed),
            ("receiving", nil), ("received", nil), ("bogus", nil),
        ]
        for (status, expected) in cases {
            #expect(TwilioClient.jobStatus(forTwilio: status) == expected, "\(status)")
        }
    }

    @Test("a provider report only moves a job forward, and delivered is the last word")
    func settleTable() {
        let cases: [(JobStatus, JobStatus, JobStatus?)] = [
            (.sending, .sent, .sent), (.unknown, .sent, .sent), (.queued, .delivered, .delivered), (.unknown, .delivered, .delivered),
            (.sent, .delivered, .delivered), (.sent, .undelivered, .undelivered), (.sent, .failed, .failed),
            (.sent, .sent, nil), (.delivered, .sent, nil), (.delivered, .failed, nil), (.delivered, .undelivered, nil),
            (.undelivered, .delivered, .delivered), (.failed, .delivered, .delivered), (.failed, .undelivered, nil),
            (.undelivered, .sent, nil),
        ]
        for (current, reported, expected) in cases {
            #expect(current.settled(by: reported) == expected, "\(current) + \(reported)")
        }
    }

    @Test("the provider codes that suppress at once, those that suppress on repeat, and those that only fail the job")
    func providerErrorPolicy() {
        let policy = ProviderErrorPolicy(carrierFailuresBeforeSuppression: 3)
        let cases: [(Int, ProviderErrorPolicy.Effect)] = [
            (21610, .suppressAtOnce), (21211, .suppressAtOnce), (21614, .suppressAtOnce),
            (30003, .suppressOnRepeat), (30005, .suppressOnRepeat), (30006, .suppressOnRepeat),
            (30007, .failJobOnly), (30008, .failJobOnly), (21408, .failJobOnly), (30034, .failJobOnly), (30002, .failJobOnly),
            (21612, .failJobOnly), (20429, .failJobOnly),
        ]
        for (code, effect) in cases {
            #expect(policy.effect(of: code) == effect, "\(code)")
        }
        #expect(policy.codes(.suppressOnRepeat) == [30003, 30005, 30006])
    }
}

@Suite("RFC 3339 dates")
struct RFC3339Tests {
    @Test("real dates parse, with or without fractions and offsets; impossible or malformed ones are refused")
    func strictParsing() {
        for valid in ["2026-11-25T09:00:00Z", "2026-11-25T09:00:00.250Z", "2024-02-29T23:59:59+10:00", "2026-01-01t00:00:00z", "2026-06-30T12:00:00.123456-05:30"] {
            #expect(parseRFC3339(valid) != nil, "\(valid)")
        }
        for invalid in [
            "2027-02-30T10:00:00Z", "2026-02-29T10:00:00Z", "2026-11-25T25:00:00Z", "2026-13-01T00:00:00Z", "2026-11-25T09:60:00Z",
            "2026-11-25 09:00:00Z", "2026-11-25T09:00:00", "2026-11-25T09:00:00.Z", "2026-11-25T09:00:00+1000", "yesterday", "",
            "2026-11-25T09:00:00+24:00", "0000-01-01T00:00:00Z",
        ] {
            #expect(parseRFC3339(invalid) == nil, "\(invalid)")
        }
        #expect(parseRFC3339("2026-11-25T09:00:00.250+10:00").map(rfc3339) == "2026-11-24T23:00:00.250Z")
    }
}

@Suite("RFC 3339 offsets")
struct RFC3339OffsetTests {
    @Test("any offset RFC 3339 allows is read, to the same instant Foundation gives where it reads it")
    func offsets() {
        #expect(parseRFC3339("2026-01-27T22:09:57.9-23:46") == parseRFC3339("2026-01-28T21:55:57.9Z"))
        #expect(parseRFC3339("2026-01-28T21:55:57Z")?.timeIntervalSince1970 == 1_769_637_357)
        for text in ["2026-01-27T22:09:57-14:00", "2024-02-29T00:00:00Z", "1900-01-01T00:00:00Z", "9999-12-31T23:59:59.999+05:30"] {
            #expect(parseRFC3339(text) == (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
                ?? (try? Date.ISO8601FormatStyle().parse(text)), "\(text)")
        }
    }
}
