using Flotilla.Learning.Algorithms;

namespace Flotilla.Tuning;

/// <summary>How trials are proposed.</summary>
public enum TuningStrategy
{
    /// <summary>The reference's search: a family uniformly at random, then its parameters (log-uniform where the space says).</summary>
    Random,

    /// <summary>Tree-structured Parzen estimator conditional on the family (the default).</summary>
    Tpe,

    /// <summary>Every point of a small grid (categorical choices, integer steps, a few points per float range).</summary>
    Grid,
}

/// <summary>How a trial that is clearly worse than its peers is stopped between folds.</summary>
public enum PruningMode
{
    None,

    /// <summary>Stop a trial whose running mean after fold k is below the median of its peers' running means at fold k.</summary>
    Median,

    /// <summary>Rungs after 1 and 3 folds: a trial goes on only if it is in the top third of the trials that reached the rung.</summary>
    SuccessiveHalving,
}

/// <summary>
/// The budget and shape of one tuning run. Names follow the pipeline parameters: <see cref="MaxTrials"/> is
/// MaxTuningJobs, <see cref="MaxParallelTrials"/> is MaxTuningParallelJobs, <see cref="Folds"/> is
/// CrossValidationFolds, <see cref="Scorer"/> is CrossValidationScorer, <see cref="Seed"/> is RandomState.
/// </summary>
public sealed record TuningOptions
{
    /// <summary>Trials in all, across all families, counting resumed ones.</summary>
    public int MaxTrials { get; init; } = 60;

    /// <summary>
    /// Trials at once, as asked. The executor caps it (in process: the number of cores) and the result reports
    /// the effective value. It also fixes how stale the history a proposal may see is, so the proposals do not
    /// depend on the machine: see <see cref="Tuner"/>.
    /// </summary>
    public int MaxParallelTrials { get; init; } = 6;

    /// <summary>
    /// Optional wall-clock budget: no trial starts after it, and running ones are stopped. A budgeted search is
    /// cost-aware (cheap configurations first, expensive ones only when time allows: see <see cref="Sampling.CostAwareSampler"/>)
    /// and reports how it spent the budget (<see cref="TuningResult.Budget"/>).
    /// </summary>
    public TimeSpan? WallClockBudget { get; init; }

    public int Folds { get; init; } = 5;

    /// <summary>A scorer name the learning core knows (roc_auc, accuracy, f1, log_loss …); the tuner maximises it.</summary>
    public string Scorer { get; init; } = "roc_auc";

    public int Seed { get; init; } = 42;

    /// <summary>Families taking part; null means every family of the catalog (or of <see cref="SearchSpaces"/>).</summary>
    public IReadOnlyList<string>? Algorithms { get; init; }

    /// <summary>Optional narrower spaces replacing the catalog's for the families they name (a small Grid, a test).</summary>
    public IReadOnlyList<SearchSpace>? SearchSpaces { get; init; }

    public TuningStrategy Strategy { get; init; } = TuningStrategy.Tpe;

    /// <summary>
    /// How many of the best complete trials keep their out-of-fold predictions for <see cref="TuningResult.OutOfFold"/>
    /// (ensemble selection chooses among them), within a memory bound (<see cref="OutOfFoldLibrary.MaxBytes"/>). One keeps only the best's.
    /// </summary>
    public int KeepOutOfFold { get; init; } = 1;

    /// <summary>Median by default, as in Optuna: it keeps the best trials and saves most of the time spent on weak ones.</summary>
    public PruningMode Pruning { get; init; } = PruningMode.Median;

    /// <summary>Trials of earlier runs (e.g. of the same model group): TPE treats them as history; they are not rerun.</summary>
    public IReadOnlyList<TrialRecord> WarmStart { get; init; } = [];

    /// <summary>
    /// Trials of this same run that already finished (resume after a crash): they are kept as they are, not
    /// rerun, and the run goes on with the numbers that are missing.
    /// </summary>
    public IReadOnlyList<TrialRecord> Completed { get; init; } = [];

    /// <summary>Throws with the offending option named when the options cannot be run.</summary>
    public void Validate()
    {
        Require(MaxTrials >= 1, nameof(MaxTrials), $"must be at least 1 (was {MaxTrials})");
        Require(MaxParallelTrials >= 1, nameof(MaxParallelTrials), $"must be at least 1 (was {MaxParallelTrials})");
        Require(KeepOutOfFold >= 1, nameof(KeepOutOfFold), $"must be at least 1 (was {KeepOutOfFold})");
        Require(Folds >= 2, nameof(Folds), $"must be at least 2 (was {Folds})");
        Require(WallClockBudget is null || WallClockBudget > TimeSpan.Zero, nameof(WallClockBudget), "must be positive when given");
        Require(Algorithms is null || Algorithms.Count > 0, nameof(Algorithms), "must name at least one family when given");
        Require(!string.IsNullOrWhiteSpace(Scorer), nameof(Scorer), "must name a scorer");
        var duplicate = Completed.GroupBy(t => t.Number).FirstOrDefault(g => g.Count() > 1);
        Require(duplicate is null, nameof(Completed), $"holds trial {duplicate?.Key} more than once");
        var outside = Completed.FirstOrDefault(t => t.Number < 0 || t.Number >= MaxTrials);
        Require(outside is null, nameof(Completed), $"holds trial {outside?.Number}, outside 0..{MaxTrials - 1} (MaxTrials {MaxTrials})");
    }

    private static void Require(bool condition, string option, string problem)
    {
        if (!condition)
        {
            throw new ArgumentException($"Tuning option {option} {problem}.", option);
        }
    }
}
