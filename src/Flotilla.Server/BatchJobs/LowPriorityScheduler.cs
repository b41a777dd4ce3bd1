using System.Collections.Concurrent;
using System.Runtime.InteropServices;

namespace Flotilla.Server.BatchJobs;

/// <summary>
/// Runs batch jobs on threads of their own at the lowest CPU priority, so that live invocations on the same cores come
/// first: when nothing else wants the CPU a job runs at full speed; under live load the kernel hands the cores to the
/// invocations and the job takes what is left. Every continuation of a job's <c>await</c>s comes back here (they
/// capture this scheduler), so all of its parsing and scoring runs at that priority, not on the thread pool.
/// </summary>
internal sealed partial class LowPriorityScheduler : TaskScheduler, IDisposable
{
    /// <summary>The lowest nice value Linux gives a thread (19): a CFS weight of 15 against a normal thread's 1024.</summary>
    private const int LowestNice = 19;

    private readonly BlockingCollection<Task> _queue = [];
    private readonly Thread[] _threads;

    public LowPriorityScheduler(int threads, string name)
    {
        _threads = [.. Enumerable.Range(0, threads).Select(i => new Thread(Run) { IsBackground = true, Name = $"{name}-{i}" })];
        foreach (var thread in _threads)
        {
            thread.Start();
        }
    }

    public override int MaximumConcurrencyLevel => _threads.Length;

    /// <summary>Runs <paramref name="work"/> (and every continuation inside it) on this scheduler's threads.</summary>
    public Task RunAsync(Func<Task> work) =>
        Task.Factory.StartNew(work, CancellationToken.None, TaskCreationOptions.DenyChildAttach, this).Unwrap();

    protected override void QueueTask(Task task) => _queue.Add(task);

    // A task inlined on a caller's thread would run at the caller's priority.
    protected override bool TryExecuteTaskInline(Task task, bool taskWasPreviouslyQueued) => false;

    protected override IEnumerable<Task> GetScheduledTasks() => [.. _queue];

    public void Dispose() => _queue.CompleteAdding();

    private void Run()
    {
        Lower();
        foreach (var task in _queue.GetConsumingEnumerable())
        {
            TryExecuteTask(task);
        }
    }

    private static void Lower()
    {
        if (OperatingSystem.IsLinux())
        {
            // PRIO_PROCESS with who = 0 is the calling thread on Linux: a nice value belongs to a thread there, not the process.
            _ = SetPriority(0, 0, LowestNice);
        }
        else
        {
            Thread.CurrentThread.Priority = ThreadPriority.Lowest;
        }
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);
}
