using Flotilla.Cli.Client;
using Flotilla.Contracts;

namespace Flotilla.Cli.Terminal;

/// <summary>What the progress display shows of an execution and its trials.</summary>
internal sealed record ExecutionSnapshot(ExecutionDetail Execution, int TrialsDone, int? TrialsTotal, double? BestScore, string Scorer)
{
    public string Id => Execution.Id;

    public ExecutionStatus Status => Execution.Status;

    public IReadOnlyList<ExecutionStep> Steps => Execution.Steps;

    public bool IsFinished => Execution.IsFinished;

    public bool Succeeded => Status == ExecutionStatus.Succeeded;

    /// <summary>The execution's failure, else its first failed step's.</summary>
    public string? FailureReason => Execution.FailureReason ?? Steps.FirstOrDefault(s => s.FailureReason is not null)?.FailureReason;

    public static ExecutionSnapshot From(ExecutionDetail execution, IReadOnlyList<ExecutionTrial> trials)
    {
        var scorer = execution.Parameters["CrossValidationScorer"] is { } sc ? CliConsole.Text(sc) : "roc_auc";
        var scores = trials.Where(t => t.Status == TrialStatus.Complete).Select(t => t.Score).OfType<double>().Where(double.IsFinite).ToList();

        // The tuner's own count (a grid may plan fewer than MaxTuningJobs): on every trial, and on the Tune step once it ends.
        var planned = trials.Max(t => t.Planned)
            ?? execution.Steps.Select(s => FlotillaClient.Outputs(s, FlotillaJson.Default.TuneOutputs)?.Planned).Max();

        return new ExecutionSnapshot(
            execution,
            trials.Count,
            planned is { } total ? Math.Max(total, trials.Count) : null,
            scores.Count > 0 ? scores.Max() : null,
            scorer);
    }

    /// <summary>The register step's outputs, e.g. "registered multimodel-churn v1 (package multimodel-churn-v1, PendingManualApproval)".</summary>
    public string? Outcome()
    {
        if (!IsFinished)
        {
            return null;
        }
        if (!Succeeded)
        {
            return $"{Status}: {FailureReason ?? "no reason given"}";
        }
        var register = Steps.LastOrDefault(s => s.Type == "Register" && s.Status == StepStatus.Succeeded) is { } step
            ? FlotillaClient.Outputs(step, FlotillaJson.Default.RegisterOutputs)
            : null;
        return register is null
            ? "Succeeded"
            : $"registered {register.Group} v{register.Version} (package {register.PackageId}, {register.ApprovalStatus})";
    }

    public TimeSpan Elapsed(DateTimeOffset now) =>
        ((Execution.EndedAt ?? now) - Execution.CreatedAt) is { Ticks: > 0 } e ? e : TimeSpan.Zero;
}
