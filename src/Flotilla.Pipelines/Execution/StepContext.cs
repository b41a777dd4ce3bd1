using System.Data.Common;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;

namespace Flotilla.Pipelines.Execution;

/// <summary>What a running step sees: its resolved inputs, a work folder, a log, and the trials already kept.</summary>
public sealed class StepContext
{
    public required string ExecutionId { get; init; }

    public required PipelineDefinition Pipeline { get; init; }

    public required StepDefinition Step { get; init; }

    /// <summary>The execution's bound parameters, by canonical name.</summary>
    public required JsonObject Parameters { get; init; }

    /// <summary>The step's inputs with every reference resolved.</summary>
    public required JsonObject Inputs { get; init; }

    public required ValueResolver Resolver { get; init; }

    /// <summary><c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/&lt;step&gt;</c>; created before the step runs.</summary>
    public required string WorkDirectory { get; init; }

    public required int Attempt { get; init; }

    public required StepLog Log { get; init; }

    /// <summary>Trials of this step that completed before (an earlier attempt, or a process that crashed).</summary>
    public required IReadOnlyList<ExecutionTrial> CompletedTrials { get; init; }

    /// <summary>Persists a trial the moment it completes, so a crash never loses it.</summary>
    public required Func<ExecutionTrial, CancellationToken, Task> TrialCompleted { get; init; }

    /// <summary>
    /// Throws <see cref="Storage.ExecutionFencedException"/> if another server took the execution over. A step runs it
    /// inside the transaction of an effect outside the execution's own rows (registering a model), which fencing of
    /// those rows cannot undo: it holds the execution until that transaction commits, so no takeover falls between.
    /// </summary>
    public required Func<DbConnection, DbTransaction, CancellationToken, Task> EnsureHeldAsync { get; init; }

    public string Where => $"steps[{Step.Name}]";
}

/// <summary>A step's log: thread-safe, capped to its last <see cref="MaxChars"/> characters.</summary>
public sealed class StepLog
{
    public const int MaxChars = 256 * 1024;
    private readonly StringBuilder _text = new();
    private readonly Lock _lock = new();

    public StepLog(string? initial = null)
    {
        if (!string.IsNullOrEmpty(initial))
        {
            _text.Append(initial);
        }
    }

    public void Line(string line)
    {
        lock (_lock)
        {
            _text.Append(line).Append('\n');
            if (_text.Length > MaxChars)
            {
                _text.Remove(0, _text.Length - MaxChars);
            }
        }
    }

    public override string ToString()
    {
        lock (_lock)
        {
            return _text.ToString();
        }
    }
}
