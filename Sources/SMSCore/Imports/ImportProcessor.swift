import Foundation
import Logging
import Postgres
import ServiceLifecycle

/// Processes uploaded CSV imports in the background (issue 3).
///
/// Any number of processors may run, in API replicas or workers: each claims
/// one import at a time under a lease (``ImportStore/claim(lockedBy:lease:)``),
/// and commits it chunk by chunk, each chunk together with the cursor that
/// says where it ends (``ImportStore/commit(_:claim:expectedRow:lease:)``).
/// When a process dies its lease runs out and another processor resumes from
/// the cursor; on graceful shutdown the lease is given up at once. Only
/// PostgreSQL is needed.
public struct ImportProcessor: Service {
    public struct Configuration: Sendable {
        /// Non-blank rows per chunk, each committed in one transaction. Default 5,000.
        public var chunkRows: Int
        /// How long a claim lasts without a committed chunk. Default 60 s.
        public var lease: Duration
        /// How often an idle processor looks for work: one indexed query on the
        /// unfinished imports, cheap enough to run often so an upload starts
        /// within a fraction of a second. Default 0.25 s.
        public var pollInterval: Duration
        /// After an unexpected error (database down, …) the import waits this long before any processor retries it. Default 30 s.
        public var retryDelay: Duration
        /// This processor in `import_batches.locked_by`. Default "host:pid:random".
        public var instanceID: String
        /// Commit two chunks at once on two connections when they share no
        /// phone (needs a pool of two or more). Default true.
        public var overlapCommits: Bool

        public init(
            chunkRows: Int = 5_000, lease: Duration = .seconds(60), pollInterval: Duration = .milliseconds(250),
            retryDelay: Duration = .seconds(30), instanceID: String? = nil, overlapCommits: Bool = true
        ) {
            self.overlapCommits = overlapCommits
            self.chunkRows = chunkRows
            self.lease = lease
            self.pollInterval = pollInterval
            self.retryDelay = retryDelay
            self.instanceID =
                instanceID
                ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8).lowercased())"
        }
    }

    /// How one run over an import ended.
    public enum Outcome: Sendable, Equatable {
        case completed(ImportProgress)
        /// The file could not be imported; the message is the import's `error`.
        case failed(String)
        /// Stopped before the end (graceful shutdown or `maxChunks`), after committing this far.
        case stopped(ImportProgress?)
        /// Another processor holds the import now; this run committed nothing more.
        case leaseLost
    }

    /// Who the processor's audit entries name.
    public static let actor = AuditActor(type: .system, id: nil, label: "import-processor")

    public let configuration: Configuration
    let store: ImportStore
    let logger: Logger

    public init(postgres: PostgresClient, logger: Logger, configuration: Configuration = .init()) {
        self.store = ImportStore(postgres: postgres)
        self.logger = logger
        self.configuration = configuration
    }

    public func run() async throws {
        logger.info("import processor started", metadata: ["instance": "\(configuration.instanceID)"])
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var worked = false
            do {
                worked = try await processNext() != nil
            } catch {
                logger.error("import processing failed; it will be retried", metadata: ["error": "\(error)"])
            }
            if !worked {
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.pollInterval) }
            }
        }
    }

    /// Claims and processes imports until none is waiting; returns how many runs it made.
    @discardableResult
    public func processAvailable() async throws -> Int {
        var runs = 0
        while try await processNext() != nil { runs += 1 }
        return runs
    }

    /// Claims one import and processes it; nil when none is waiting.
    ///
    /// - Parameter maxChunks: stop after committing this many chunks and keep
    ///   the lease, as a process that crashes does (tests use this to
    ///   interrupt an import). Without it, a graceful shutdown stops between
    ///   chunks and gives the lease up.
    public func processNext(maxChunks: Int? = nil) async throws -> Outcome? {
        guard let claim = try await store.claim(lockedBy: configuration.instanceID, lease: configuration.lease) else { return nil }
        let metadata: Logger.Metadata = ["import_id": "\(claim.id)", "tenant_id": "\(claim.tenantID)"]
        let started = ContinuousClock.now
        do {
            let outcome = try await process(claim, maxChunks: maxChunks)
            switch outcome {
            case .completed(let progress):
                logger.info(
                    "import completed",
                    metadata: metadata.merging(
                        [
                            "rows": "\(progress.processedRows)", "imported": "\(progress.imported)", "updated": "\(progress.updated)",
                            "rejected": "\(progress.rejected)", "flagged": "\(progress.flagged)",
                            "seconds": "\((ContinuousClock.now - started).intervalSeconds)",
                        ], uniquingKeysWith: { $1 }))
            case .failed:
                // The message may quote the file's first row, which can hold phone numbers: not logged.
                logger.notice("import failed: the file cannot be imported (see the import's error)", metadata: metadata)
            case .stopped:
                if maxChunks == nil { try await store.release(claim) }
                logger.info("import paused; another processor will continue it", metadata: metadata)
            case .leaseLost:
                break
            }
            return outcome
        } catch is ImportLeaseLost {
            logger.warning("import lease lost to another processor; stopping this run", metadata: metadata)
            return .leaseLost
        } catch {
            try? await store.release(claim, retryAfter: configuration.retryDelay)
            throw error
        }
    }

    private func process(_ initial: ImportClaim, maxChunks: Int?) async throws -> Outcome {
        var claim = initial
        let loadStarted = ContinuousClock.now
        let file = try await store.file(of: claim)
        logger.debug(
            "import file loaded",
            metadata: [
                "import_id": "\(claim.id)", "bytes": "\(file.count)",
                "ms": "\(((ContinuousClock.now - loadStarted).intervalSeconds * 1000).rounded())",
            ])
        if claim.columnMap == nil {
            let defaultCountry = claim.defaultCountry
            switch file.withUnsafeBufferPointer({ ImportFileCheck.inspect($0, defaultCountry: defaultCountry) }) {
            case .failure(let error):
                try await store.fail(claim, message: error.message)
                return .failed(error.message)
            case .success(let summary):
                try await store.begin(claim, summary: summary, lease: configuration.lease)
                claim.columnMap = summary.columnMap
                claim.cursorByteOffset = summary.columnMap.dataOffset
            }
        }
        guard let map = claim.columnMap else { return .leaseLost }

        var chunker = ImportChunker(
            file: file, map: map, importID: claim.id, tenantID: claim.tenantID, chunkRows: configuration.chunkRows)
        logger.debug(
            "import file checked",
            metadata: ["import_id": "\(claim.id)", "ms": "\(((ContinuousClock.now - loadStarted).intervalSeconds * 1000).rounded())"])
        do {
            try chunker.skip(toRow: claim.cursorRow, offset: claim.cursorByteOffset)
        } catch let mismatch as ImportChunker.ResumeMismatch {
            let message = "the import could not be resumed: \(mismatch.description)"
            try await store.fail(claim, message: message)
            return .failed(message)
        }

        // Reading and checking the next chunk overlaps with committing this one,
        // and two chunks are committed at once on two connections when they
        // share no phone (see ImportStore.commit(after:)): on two cores the
        // parser and two database backends keep each other busy.
        let overlap = configuration.overlapCommits && store.postgres.configuration.maxConnections >= 2
        let lease = configuration.lease
        var expectedRow = claim.cursorRow
        var next = try chunker.next()
        var committed = 0
        var progress: ImportProgress?
        var inFlight: InFlightChunk?
        let claimed = claim
        let store = self.store

        func finish(_ chunk: InFlightChunk) async throws -> ImportProgress {
            let result = try await chunk.task.value
            committed += 1
            logger.debug(
                "import chunk committed",
                metadata: [
                    "import_id": "\(claimed.id)", "row": "\(chunk.endRow)", "rows": "\(chunk.rows)",
                    "ms": "\(((ContinuousClock.now - chunk.started).intervalSeconds * 1000).rounded())",
                ])
            return result
        }

        while true {
            let chunk = next
            if let previous = inFlight, !overlap || chunk.dependsOnPrevious {
                progress = try await finish(previous)
                inFlight = nil
            }
            let gate = ImportCommitGate()
            let previousGate = inFlight?.gate
            let from = expectedRow
            let task = Task {
                do {
                    let result = try await store.commit(chunk, claim: claimed, expectedRow: from, lease: lease, after: previousGate)
                    gate.resolve(committed: true)
                    return result
                } catch {
                    gate.resolve(committed: false)
                    throw error
                }
            }
            expectedRow = chunk.endRow
            if let previous = inFlight {
                do {
                    progress = try await finish(previous)
                } catch {
                    _ = try? await task.value  // rolls back: its predecessor failed
                    throw error
                }
            }
            let current = InFlightChunk(task: task, gate: gate, endRow: chunk.endRow, rows: chunk.processedRows, started: .now)
            inFlight = current
            let stop = chunk.isLast || (maxChunks.map { committed + 1 >= $0 } ?? false) || Task.isShuttingDownGracefully
            if stop {
                progress = try await finish(current)
                if chunk.isLast, let progress { return .completed(progress) }
                return .stopped(progress)
            }
            do {
                next = try chunker.next()
            } catch {
                _ = try? await current.task.value
                throw error
            }
        }
    }
}

/// A chunk whose commit is running.
private struct InFlightChunk {
    let task: Task<ImportProgress, any Error>
    let gate: ImportCommitGate
    let endRow: Int
    let rows: Int
    let started: ContinuousClock.Instant
}

extension ImportProcessor: CustomStringConvertible {
    public var description: String { "ImportProcessor" }
}
