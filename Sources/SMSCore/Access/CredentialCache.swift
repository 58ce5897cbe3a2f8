import Foundation
import Synchronization

/// Principals by credential hash, for one second: authenticating a request
/// reads memory, not PostgreSQL, and a revoked key or ended session is
/// refused within a second on every API replica (each keeps its own cache).
///
/// Issue 12: every authenticated request ran an `UPDATE … RETURNING` on its
/// key's or session's row, so all requests with one credential queued on one
/// row lock and a WAL flush (1,900 req/s against 18,900 for /health). Now a
/// credential costs one read per second per replica, and `last_used_at` /
/// session activity is written at most once a minute.
final class CredentialCache: Sendable {
    struct Entry: Sendable {
        var principal: Principal
        var fetchedAt: ContinuousClock.Instant
    }

    /// How long a principal is trusted without asking PostgreSQL: the revocation bound.
    static let freshFor: Duration = .seconds(1)
    /// Entries kept at most; past it the oldest half goes.
    static let capacity = 10_000

    private let entries = Mutex<[String: Entry]>([:])

    func principal(for hash: String, now: ContinuousClock.Instant = .now) -> Principal? {
        entries.withLock { entries in
            guard let entry = entries[hash] else { return nil }
            guard now - entry.fetchedAt < Self.freshFor else {
                entries[hash] = nil
                return nil
            }
            return entry.principal
        }
    }

    func store(_ principal: Principal, for hash: String, now: ContinuousClock.Instant = .now) {
        entries.withLock { entries in
            if entries.count >= Self.capacity {
                let oldest = entries.sorted { $0.value.fetchedAt < $1.value.fetchedAt }.prefix(Self.capacity / 2).map(\.key)
                for key in oldest { entries[key] = nil }
            }
            entries[hash] = Entry(principal: principal, fetchedAt: now)
        }
    }

    /// A logout or a revocation in this process takes effect at once here.
    func forget(_ hash: String) {
        _ = entries.withLock { $0.removeValue(forKey: hash) }
    }

    func forgetAll(where matches: (Principal) -> Bool) {
        entries.withLock { entries in
            for (key, entry) in entries where matches(entry.principal) { entries[key] = nil }
        }
    }
}
