import Synchronization

/// Time spent in each pool (by its name: "postgres", "redis") by one unit of
/// work, such as an HTTP request: the API's `Server-Timing` header reads it.
///
/// Set ``current`` with `OperationTiming.$current.withValue(timing) { … }`;
/// every pool operation awaited inside adds its wall time (waiting for a
/// connection included) under the pool's name. Concurrent child tasks add up.
public final class OperationTiming: Sendable {
    @TaskLocal public static var current: OperationTiming?

    private let totals = Mutex<[String: Duration]>([:])

    public init() {}

    public func add(_ name: String, _ duration: Duration) {
        totals.withLock { $0[name, default: .zero] += duration }
    }

    /// Total time per pool name so far.
    public var snapshot: [String: Duration] { totals.withLock { $0 } }
}
