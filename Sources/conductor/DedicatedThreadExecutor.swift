import DequeModule
import Foundation

/// Runs the jobs of the tasks that prefer it (`withTaskExecutorPreference`) on one thread of its own, in the order
/// they come. `conductor dev` runs the controller on one, so that its short steps (a watch event, an actor's
/// turn, an assignment pass) do not queue behind the API server's requests in the shared cooperative pool: the
/// kernel then shares the cores between the two as it would between two processes, as on a cluster.
///
/// The thread lives as long as the process; a job that blocks would hold up every task that prefers it, and none
/// may (the rule of the cooperative pool holds here too).
final class DedicatedThreadExecutor: TaskExecutor, @unchecked Sendable {
    // Invariant: `jobs` is read and written only with `condition` locked; the thread is the only consumer.
    private let condition = NSCondition()
    private var jobs = Deque<UnownedJob>()

    init(name: String) {
        // The thread keeps the executor: both live as long as the process.
        let thread = Thread { self.runJobs() }
        thread.name = name
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func runJobs() {
        let executor = asUnownedTaskExecutor()
        // Swapped with `jobs` under the lock, so that neither queue's storage is copied.
        var batch = Deque<UnownedJob>()
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            swap(&jobs, &batch)
            condition.unlock()
            for job in batch { job.runSynchronously(on: executor) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}
