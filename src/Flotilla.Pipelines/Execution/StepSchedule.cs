using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using static Flotilla.Pipelines.Storage.ExecutionStore;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// What a step's run ended as; <see cref="FailureReason"/> is set when it failed, <see cref="Fenced"/> when the
/// execution was taken over by another server while it ran (nothing of it was saved).
/// </summary>
internal sealed record StepOutcome(StepRow Row, string? FailureReason, ExecutionFencedException? Fenced = null);

/// <summary>
/// The scheduling state of one execution: which steps are done (their outputs taken), which are running, which
/// can start and which will never run. It does no I/O; <see cref="ExecutionRunner"/> saves what changes.
/// </summary>
internal sealed class StepSchedule
{
    private readonly PipelineDefinition _definition;
    private readonly StepCatalog _catalog;
    private readonly StepOutputFiles _files;
    private readonly string _parameters;
    private readonly Dictionary<string, StepRow> _rows;
    private readonly Dictionary<string, IReadOnlySet<string>> _dependencies;

    // Outputs are kept as text and parsed per step: JSON nodes are not safe to share between threads.
    private readonly Dictionary<string, string> _outputs = new(StringComparer.Ordinal);
    private readonly Dictionary<Task<StepOutcome>, string> _running = [];

    public StepSchedule(PipelineDefinition definition, StepCatalog catalog, StepOutputFiles files, string parameters, IEnumerable<StepRow> rows)
    {
        _definition = definition;
        _catalog = catalog;
        _files = files;
        _parameters = parameters;
        _rows = rows.ToDictionary(r => r.Name);
        _dependencies = definition.Steps.ToDictionary(s => s.Name, s => DefinitionValidator.DependenciesOf(s, definition));
        foreach (var row in _rows.Values.Where(r => r.Status == StepStatus.Succeeded))
        {
            _outputs[row.Name] = row.Outputs ?? "{}";
        }
        Failure = _rows.Values.FirstOrDefault(r => r.Status == StepStatus.Failed)?.FailureReason;
    }

    public IReadOnlyCollection<StepRow> Rows => _rows.Values;

    /// <summary>The first failure's reason; once set, no further step starts.</summary>
    public string? Failure { get; private set; }

    public bool IsRunning => _running.Count > 0;

    /// <summary>Steps caught mid-run by a crash or shutdown go back to Pending, to run again; returns them to save.</summary>
    public IReadOnlyCollection<StepRow> ResumeInterrupted(DateTimeOffset now)
    {
        var resumed = _rows.Values.Where(r => r.Status == StepStatus.Executing).ToList();
        foreach (var row in resumed)
        {
            // A Tune step keeps its finished trials, so running it again goes on from them.
            row.Status = StepStatus.Pending;
            row.Log = (row.Log ?? "") + $"[{now:O}] resumed after its server stopped; running the step again\n";
        }
        return resumed;
    }

    /// <summary>
    /// Starts every pending step whose dependencies' outputs are taken and marks Skipped every one that will never
    /// run, until nothing changes (a skip can make further steps skippable). Returns the skipped rows to save.
    /// </summary>
    /// <remarks>
    /// A step gets a function that builds its <see cref="ValueResolver"/>: the files its dependencies wrote are
    /// fetched to this machine (from the artifact store, once) when it starts, not here.
    /// </remarks>
    public IReadOnlyList<StepRow> StartReady(Func<StepDefinition, StepRow, Func<CancellationToken, Task<ValueResolver>>, Task<StepOutcome>> run, DateTimeOffset now)
    {
        var skipped = new List<StepRow>();
        bool changed;
        do
        {
            changed = false;
            foreach (var step in _definition.Steps)
            {
                var row = _rows[step.Name];
                if (row.Status != StepStatus.Pending || _running.ContainsValue(step.Name))
                {
                    continue;
                }
                if (SkipReason(step) is { } reason)
                {
                    row.Status = StepStatus.Skipped;
                    row.Log = (row.Log ?? "") + reason + "\n";
                    row.EndedMs = now.ToUnixTimeMilliseconds();
                    skipped.Add(row);
                    changed = true;
                }
                // A dependency counts as done once its outputs are taken here, not when its row says Succeeded:
                // the step's own task sets that row before the scheduler has seen the task finish.
                else if (_dependencies[step.Name].All(_outputs.ContainsKey))
                {
                    var dependencies = _dependencies[step.Name];
                    var stored = _outputs.ToDictionary(kv => kv.Key, kv => (Kind: _catalog[_rows[kv.Key].Type], Outputs: kv.Value));
                    _running[run(step, row, async ct =>
                    {
                        var outputs = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
                        foreach (var (name, (kind, text)) in stored)
                        {
                            outputs[name] = dependencies.Contains(name) ? await _files.ResolveAsync(kind, ParseObject(text), ct) : ParseObject(text);
                        }
                        return new ValueResolver(_definition, ParseObject(_parameters), outputs);
                    })] = step.Name;
                }
            }
        }
        while (changed);
        return skipped;
    }

    /// <summary>The next step to finish, or null when <paramref name="wakeUp"/> came first.</summary>
    public async Task<StepOutcome?> NextFinishedAsync(Task? wakeUp)
    {
        var first = wakeUp is null
            ? await Task.WhenAny(_running.Keys)
            : await Task.WhenAny(((IEnumerable<Task>)_running.Keys).Append(wakeUp));
        if (first is not Task<StepOutcome> done)
        {
            return null;
        }
        _running.Remove(done);
        return await done;
    }

    /// <summary>Waits for every running step to end, whatever its end; used once the execution was lost.</summary>
    public async Task AllFinishedAsync()
    {
        await Task.WhenAll(_running.Keys.Select(async t =>
        {
            try
            {
                await t;
            }
            catch (OperationCanceledException)
            {
                // Cancelled with the lease: its end is not this server's to record.
            }
        }));
        _running.Clear();
    }

    /// <summary>Takes a finished step's outputs (so its dependants may start) or its failure.</summary>
    public void Take(StepOutcome outcome)
    {
        if (outcome.Row.Status == StepStatus.Succeeded)
        {
            _outputs[outcome.Row.Name] = outcome.Row.Outputs ?? "{}";
        }
        else if (outcome.Row.Status == StepStatus.Failed)
        {
            Failure ??= outcome.FailureReason;
        }
    }

    /// <summary>Why a pending step will never run: a branch not taken, or a step it needs was skipped.</summary>
    private string? SkipReason(StepDefinition step)
    {
        foreach (var gate in _definition.Steps.Where(s => _catalog.Find(s.Type)?.IsBranch == true))
        {
            var onTrue = (gate.IfTrue ?? []).Contains(step.Name);
            var onFalse = (gate.IfFalse ?? []).Contains(step.Name);
            if ((onTrue || onFalse) && _outputs.TryGetValue(gate.Name, out var gateOutputs)
                && ParseObject(gateOutputs)["result"]?.GetValue<bool>() is { } result
                && !((onTrue && result) || (onFalse && !result)))
            {
                return $"skipped: condition '{gate.Name}' was {result.ToString().ToLowerInvariant()}";
            }
        }

        var skippedDependency = _dependencies[step.Name].FirstOrDefault(d => _rows[d].Status == StepStatus.Skipped);
        return skippedDependency is null ? null : $"skipped: step '{skippedDependency}' it depends on was skipped";
    }
}
