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
        /// How often an idle processor looks for work. Default 1 s.
        public var pollInterval: Duration
        /// After an unexpected error (database down, …) the import waits this long before any processor retries it. Default 30 s.
        public var retryDelay: Duration
        /// This processor in `import_batches.locked_by`. Default "host:pid:random".
        public var instanceID: String

        public init(
            chunkRows: Int = 5_000, lease: Duration = .seconds(60), pollInterval: Duration = .seconds(1),
            retryDelay: Duration = .seconds(30), instanceID: String? = nil
        ) {
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
        let file = try await store.file(of: claim)
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
        do {
            try chunker.skip(toRow: claim.cursorRow, offset: claim.cursorByteOffset)
        } catch let mismatch as ImportChunker.ResumeMismatch {
            let message = "the import could not be resumed: \(mismatch.description)"
            try await store.fail(claim, message: message)
            return .failed(message)
        }

        // Reading and checking the next chunk overlaps with committing this one:
        // the database and the parser each get a core.
        var expectedRow = claim.cursorRow
        var next = try chunker.next()
        var committed = 0
        var progress: ImportProgress?
        while true {
            let chunk = next
            let chunkClaim = claim
            let lease = configuration.lease
            let from = expectedRow
            let commitStarted = ContinuousClock.now
            async let committing = store.commit(chunk, claim: chunkClaim, expectedRow: from, lease: lease)
            let more = !chunk.isLast && (maxChunks.map { committed + 1 < $0 } ?? true) && !Task.isShuttingDownGracefully
            if more { next = try chunker.next() }
            let prepared = ContinuousClock.now
            progress = try await committing
            logger.debug(
                "import chunk committed",
                metadata: [
                    "import_id": "\(claim.id)", "row": "\(chunk.endRow)", "rows": "\(chunk.processedRows)",
                    "commit_ms": "\(((ContinuousClock.now - commitStarted).intervalSeconds * 1000).rounded())",
                    "next_chunk_ms": "\(((prepared - commitStarted).intervalSeconds * 1000).rounded())",
                ])
            committed += 1
            expectedRow = chunk.endRow
            if chunk.isLast, let progress { return .completed(progress) }
            if !more || Task.isShuttingDownGracefully { return .stopped(progress) }
        }
    }
}
