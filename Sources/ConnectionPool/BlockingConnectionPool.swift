import NIOPosix
import Synchronization

/// A connection to a server whose client library blocks (libpq, hiredis).
///
/// Conforming types are classes that own a C handle; they are not `Sendable` and
/// are only ever used by one thread at a time, handed out by a
/// ``BlockingConnectionPool``. They free their handle in `deinit`, which runs
/// when the pool drops them.
public protocol PooledConnection: AnyObject, SendableMetatype {
    /// A cheap, non-blocking check made when an idle connection is taken from
    /// the pool: `false` when the server has gone away (restart, idle timeout),
    /// so the pool opens a fresh connection instead of failing the caller.
    func isAliveWhenIdle() -> Bool
    /// `true` when the connection must not go back to the pool after use
    /// (I/O error, protocol desync, a transaction left open).
    var mustBeDiscarded: Bool { get }
}

/// Errors of the pool itself; errors of the connections pass through unchanged.
public enum ConnectionPoolError: Error, Equatable, CustomStringConvertible {
    /// Every connection stayed busy for the whole acquire timeout.
    case acquireTimedOut(waited: Duration)
    /// The pool was shut down.
    case closed

    public var description: String {
        switch self {
        case .acquireTimedOut(let waited): "no connection became free within \(waited)"
        case .closed: "the connection pool is shut down"
        }
    }
}

/// A bounded pool of blocking connections whose calls run on a dedicated thread
/// pool, never on the Swift concurrency pool.
///
/// Callers pass a synchronous closure that gets exclusive use of one connection;
/// the raw connection never escapes the closure. Waiting for a free connection is
/// asynchronous and bounded by ``Configuration/acquireTimeout``.
public final class BlockingConnectionPool<Connection: PooledConnection>: Sendable {
    /// Pool sizing and timeouts.
    public struct Configuration: Sendable {
        /// The most connections open at once; also the number of threads. Default 10.
        public var maxConnections: Int
        /// How long a caller waits for a free connection before
        /// ``ConnectionPoolError/acquireTimedOut(waited:)``. Default 5 s.
        public var acquireTimeout: Duration
        /// Thread names, for debuggers and `top -H`.
        public var name: String

        public init(maxConnections: Int = 10, acquireTimeout: Duration = .seconds(5), name: String = "pool") {
            precondition(maxConnections > 0, "a pool needs at least one connection")
            self.maxConnections = maxConnections
            self.acquireTimeout = acquireTimeout
            self.name = name
        }
    }

    /// Owns one connection while it travels between threads. The pool guarantees
    /// that only one thread uses it at a time.
    final class Slot: @unchecked Sendable {
        let connection: Connection
        init(_ connection: Connection) { self.connection = connection }
    }

    /// What a waiter is handed: an idle connection, or the right to open one.
    enum Grant: Sendable {
        case idle(Slot)
        case open
    }

    enum Decision { case grant(Grant), wait, closed }
    enum Next { case handOver(Waiter, Grant), none }

    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Grant, any Error>
    }

    struct State {
        var idle: [Slot] = []
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    public let configuration: Configuration
    private let connect: @Sendable () throws -> Connection
    private let threads: NIOThreadPool
    private let state = Mutex(State())

    /// Creates the pool; no connection is opened until first use.
    /// - Parameter connect: opens one connection; runs on the pool's threads.
    public init(configuration: Configuration, connect: @escaping @Sendable () throws -> Connection) {
        self.configuration = configuration
        self.connect = connect
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        self.threads.start()
    }

    /// Runs `body` on a pool thread with exclusive use of one connection.
    ///
    /// A connection that `body` leaves unusable is closed rather than returned.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (Connection) throws -> T
    ) async throws -> T {
        guard let timing = OperationTiming.current else { return try await run(body) }
        let clock = ContinuousClock()
        let start = clock.now
        defer { timing.add(configuration.name, clock.now - start) }
        return try await run(body)
    }

    private func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let grant = try await acquire()
        let result: Result<T, any Error> = await withCheckedContinuation { continuation in
            threads.submit { state in
                guard case .active = state else {
                    self.giveBack(nil)
                    continuation.resume(returning: .failure(ConnectionPoolError.closed))
                    return
                }
                let slot: Slot
                do {
                    slot = try self.usable(grant)
                } catch {
                    self.giveBack(nil)
                    continuation.resume(returning: .failure(error))
                    return
                }
                let outcome = Result { try body(slot.connection) }
                self.giveBack(slot.connection.mustBeDiscarded ? nil : slot)
                continuation.resume(returning: outcome)
            }
        }
        return try result.get()
    }

    /// Connections open right now (idle and in use), for health reports and tests.
    public var openConnections: Int { state.withLock { $0.open } }

    /// Closes idle connections, fails waiters and stops the threads. Connections
    /// in use are closed when their closure returns.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state -> ([Slot], [Waiter]) in
            state.closed = true
            defer { state.idle = []; state.waiters = [] }
            state.open -= state.idle.count
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: ConnectionPoolError.closed) }
        _ = idle  // dropping the slots closes their connections
        try? await threads.shutdownGracefully()
    }

    // MARK: - Internals

    private func acquire() async throws -> Grant {
        let id = state.withLock { state -> UInt64 in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        let timeout = configuration.acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.expireWaiter(id, with: ConnectionPoolError.acquireTimedOut(waited: timeout))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Grant, any Error>) in
                let decision = state.withLock { state -> Decision in
                    if state.closed { return .closed }
                    if let slot = state.idle.popLast() { return .grant(.idle(slot)) }
                    if state.open < configuration.maxConnections {
                        state.open += 1
                        return .grant(.open)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch decision {
                case .grant(let grant): continuation.resume(returning: grant)
                case .closed: continuation.resume(throwing: ConnectionPoolError.closed)
                case .wait: break
                }
            }
        } onCancel: {
            self.expireWaiter(id, with: CancellationError())
        }
    }

    private func expireWaiter(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Turns a grant into a live connection: checks an idle one, replacing it
    /// when the server dropped it, or opens a new one.
    private func usable(_ grant: Grant) throws -> Slot {
        switch grant {
        case .idle(let slot):
            if slot.connection.isAliveWhenIdle() { return slot }
            return Slot(try connect())
        case .open:
            return Slot(try connect())
        }
    }

    /// Returns a connection (or, with `nil`, its place) to the pool and wakes the
    /// longest waiter.
    private func giveBack(_ slot: Slot?) {
        let next = state.withLock { state -> Next in
            if state.closed {
                state.open -= 1
                return .none
            }
            if !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                return .handOver(waiter, slot.map { .idle($0) } ?? .open)
            }
            if let slot {
                state.idle.append(slot)
            } else {
                state.open -= 1
            }
            return .none
        }
        switch next {
        case .handOver(let waiter, let grant): waiter.continuation.resume(returning: grant)
        case .none: break
        }
    }
}
