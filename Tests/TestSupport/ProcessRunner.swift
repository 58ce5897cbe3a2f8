import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the project's executables and scripts from tests.
///
/// Built on posix_spawn and waitpid rather than Foundation's `Process`, whose
/// exit detection on Linux was seen to miss a child's exit inside the test runner.
/// Output goes to temporary files, not pipes: a server that a script starts in
/// the background inherits its stdout, and a pipe would never reach end-of-file.
public enum ProcessRunner {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// Runs to completion (killed after `timeout`) and captures both streams.
    public static func run(
        _ executable: String, arguments: [String], environment: [String: String]? = nil, timeout: Duration = .seconds(60)
    ) throws -> Result {
        let out = temporaryPath("out")
        let err = temporaryPath("err")
        defer {
            unlink(out)
            unlink(err)
        }
        let pid = try spawn(executable, arguments: arguments, environment: environment, stdout: out, stderr: err)
        let deadline = ContinuousClock.now + timeout
        var status = try waitForExit(pid, until: deadline)
        if status == nil {
            kill(pid, SIGKILL)
            status = try waitForExit(pid, until: .now + .seconds(10))
        }
        return Result(
            status: status ?? -1,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Starts a child with stdin from /dev/null and stdout/stderr appended to files.
    static func spawn(
        _ executable: String, arguments: [String], environment: [String: String]?, stdout: String, stderr: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        // The test runner's threads block some signals; a child would inherit
        // that mask and, like redis-server, never see the SIGTERM that stops it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard rc == 0 else { throw Failure(description: "cannot start \(executable): \(String(cString: strerror(rc)))") }
        return pid
    }

    /// The exit status (128 + signal when killed), or `nil` if still running at `deadline`.
    static func waitForExit(_ pid: pid_t, until deadline: ContinuousClock.Instant) throws -> Int32? {
        while true {
            var status: Int32 = 0
            let rc = waitpid(pid, &status, WNOHANG)
            if rc == pid {
                let signal = status & 0x7F
                return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
            }
            if rc < 0 && errno != EINTR { throw Failure(description: "waitpid failed: \(String(cString: strerror(errno)))") }
            if ContinuousClock.now >= deadline { return nil }
            usleep(20_000)
        }
    }

    /// Child processes' output goes to `SMSCRM_TEST_LOG_DIR` when set (scripts/test.sh
    /// scans it for leaked phone numbers and secrets after the run), else the temp directory.
    static func temporaryPath(_ suffix: String) -> String {
        let directory = ProcessInfo.processInfo.environment["SMSCRM_TEST_LOG_DIR"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory
        return directory.appendingPathComponent("smscrm-\(UUID().uuidString).\(suffix)").path
    }
}

/// A long-running child process (an API or worker under test), stopped by
/// `stop()` or killed when the test drops it.
public final class RunningProcess: @unchecked Sendable {
    public let pid: pid_t
    private let logPath: String
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Starts `executable` with stdout and stderr going to a temporary log file.
    public init(_ executable: String, arguments: [String] = [], environment: [String: String]) throws {
        logPath = ProcessRunner.temporaryPath("log")
        pid = try ProcessRunner.spawn(executable, arguments: arguments, environment: environment, stdout: logPath, stderr: logPath)
    }

    /// Everything the process wrote so far.
    public var output: String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Sends `signal` and waits up to `timeout` for the exit; returns the exit
    /// status, or `nil` when it had to be killed.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, timeout: Duration = .seconds(15)) -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            kill(pid, signal)
            if let status = try? ProcessRunner.waitForExit(pid, until: .now + timeout) {
                exitStatus = status
                return status
            }
            kill(pid, SIGKILL)
            exitStatus = (try? ProcessRunner.waitForExit(pid, until: .now + .seconds(10))) ?? -1
            return nil
        }
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = try? ProcessRunner.waitForExit(pid, until: .now + .seconds(10))
        }
        // Kept for scripts/scan-logs.sh when the run collects logs; test.sh deletes the directory.
        if ProcessInfo.processInfo.environment["SMSCRM_TEST_LOG_DIR"] == nil { unlink(logPath) }
    }
}
