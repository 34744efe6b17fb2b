/// The executor that the client's own unstructured tasks (a watch's reader and its resuming worker) prefer.
///
/// Such tasks do not inherit the task executor preference of the task that starts them, as child tasks do. A
/// process that runs a part on an executor of its own (`conductor dev` runs the controller on a thread of its
/// own) binds it here too, so that decoding the part's watch events happens on that executor and not in the
/// shared pool. Nil, the default: the shared pool.
public enum ClientTaskExecutor {
    @TaskLocal public static var preferred: (any TaskExecutor)?
}
