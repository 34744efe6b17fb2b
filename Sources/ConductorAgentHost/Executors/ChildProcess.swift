import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A program started for one attempt, leading a process group of its own, with pipes to its standard input,
/// output and error. Started with posix_spawn rather than Foundation's Process, which cannot put the child in
/// its own process group nor restore the signal dispositions the agent changed (it ignores SIGPIPE, and
/// signal handling may ignore SIGTERM): without both, a cancellation could not reach the program's children,
/// and the program could not be stopped with SIGTERM.
struct ChildProcess: Sendable {
    /// Held while pipes are made and a program is started (see `spawn`).
    private static let spawnLock = NSLock()

    let pid: pid_t
    /// Ours: the write end of its standard input, the read ends of its output and error. Each is closed by
    /// whoever reads or writes it to the end.
    let stdin: Int32
    let stdout: Int32
    let stderr: Int32

    /// Why a program could not be started.
    struct SpawnError: Error, Sendable, CustomStringConvertible {
        var program: String
        var errno: Int32
        var description: String { "could not start \(program): \(String(cString: strerror(errno))) (errno \(errno))" }
    }

    /// Writing a payload to a program that exited without reading it must fail with EPIPE, not end this
    /// process: SIGPIPE is ignored process-wide, once, before the first program starts (whatever hosts the
    /// executor: `conductor agent` does it too, a test process would not).
    private static let sigpipeIgnored: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

    static func spawn(arguments: [String], environment: [String: String], workingDirectory: String?) throws(SpawnError) -> ChildProcess {
        _ = sigpipeIgnored
        let program = arguments[0]
        // One spawn at a time, and every end close-on-exec: so a program started for another task inherits
        // none of these ends (a write end held by another process would keep this one's output from ever
        // ending). pipe2, which sets the flag at once, is not visible to Swift through Glibc; the lock closes
        // the gap between pipe and fcntl.
        spawnLock.lock()
        defer { spawnLock.unlock() }
        var input: [Int32] = [-1, -1], output: [Int32] = [-1, -1], error: [Int32] = [-1, -1]
        for index in 0..<3 {
            let result = index == 0 ? pipe(&input) : index == 1 ? pipe(&output) : pipe(&error)
            if result != 0 {
                let code = errno
                for fd in input + output + error where fd >= 0 { close(fd) }
                throw SpawnError(program: program, errno: code)
            }
        }
        for fd in input + output + error { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        posix_spawn_file_actions_adddup2(&actions, error[1], 2)
        if let workingDirectory {
            guard let addChdir = Self.addChdir else { throw SpawnError(program: program, errno: ENOSYS) }
            _ = addChdir(&actions, workingDirectory)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var all = sigset_t(), none = sigset_t()
        sigfillset(&all)
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setpgroup(&attributes, 0)  // a new group, led by the child: signals reach all it starts
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        // The child's ends are its own now.
        close(input[0])
        close(output[1])
        close(error[1])
        guard result == 0 else {
            close(input[1])
            close(output[0])
            close(error[0])
            throw SpawnError(program: program, errno: result)
        }
        return ChildProcess(pid: pid, stdin: input[1], stdout: output[0], stderr: error[0])
    }

    /// glibc's posix_spawn_file_actions_addchdir_np (2.29 and later), which Glibc does not show to Swift
    /// (it needs _GNU_SOURCE): found at run time.
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    private static let addChdir: AddChdir? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addchdir_np") else { return nil }
        return unsafeBitCast(symbol, to: AddChdir.self)
    }()

    /// How the program ended.
    enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signalled(Int32)
    }

    /// Waits for the program to end (blocking: call it through `BlockingCall`).
    func waitBlocking() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return .exited(-1) }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, which are macros in C.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// Sends `signal` to the whole process group. A group already gone is no error.
    func signalGroup(_ signal: Int32) {
        _ = kill(-pid, signal)
    }

    /// Whether any process of the group is left.
    var groupExists: Bool { kill(-pid, 0) == 0 }
}

/// Reads and writes on file descriptors, blocking (call them through `BlockingCall`).
enum FileDescriptorIO {
    /// Writes all of `bytes`, then closes `fd`. A program that exits without reading is no error (EPIPE; the
    /// agent ignores SIGPIPE).
    static func writeAllAndClose(_ fd: Int32, _ bytes: [UInt8]) {
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Writes all of `bytes` without closing `fd`; false when the reader is gone.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    /// Reads until end of file, or until `cutoff` passes, handing each chunk to `consume`, then closes `fd`.
    /// Without a cutoff it waits in read(2) for the end, however long.
    static func readAllAndClose(_ fd: Int32, chunkSize: Int = 64 * 1024, cutoff: ReadCutoff? = nil,
                                _ consume: (UnsafeRawBufferPointer) -> Void) {
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 1)
        defer { buffer.deallocate() }
        while cutoff?.waitForInput(on: fd) ?? true {
            let count = read(fd, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            if count == 0 { return }
            consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }
}
