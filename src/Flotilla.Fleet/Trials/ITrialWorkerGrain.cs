using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Tuning;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// One per silo (its key is the silo's address, see <see cref="Hosting.SiloTargetedPlacement"/>): runs trials of a
/// tuning run started on another silo, on the training data it fetches once by hash from the artifact store.
/// </summary>
public interface ITrialWorkerGrain : IGrainWithStringKey
{
    /// <summary>How many trials this silo can usefully run at once: its cores (a CPU quota counts).</summary>
    Task<int> GetCoresAsync();

    /// <summary>
    /// Runs one trial, reporting each fold to <paramref name="folds"/> and stopping when it answers false. A trial
    /// may run for minutes: the call's limit is the run's own cancellation, not the cluster's response timeout.
    /// </summary>
    [ResponseTimeout("1.00:00:00")]
    Task<RemoteTrialOutcome> RunAsync(TrialDataRef data, RemoteTrial trial, IFoldObserver folds, CancellationToken cancellationToken);
}

/// <summary>The caller's side of a remote trial: the tuner's pruning decision after each fold.</summary>
public interface IFoldObserver : IGrainObserver
{
    Task<bool> OnFoldAsync(int fold, double score);
}

/// <summary>A training CSV in the artifact store and the options that read it into the tuning run's table.</summary>
[GenerateSerializer, Immutable]
public sealed record TrialDataRef(
    [property: Id(0)] string Sha256,
    [property: Id(1)] string Label,
    [property: Id(2)] IReadOnlyList<string> Exclude,
    [property: Id(3)] char Delimiter,
    [property: Id(4)] string? PositiveLabel,
    [property: Id(5)] long MaxBytes)
{
    public static TrialDataRef From(string sha256, CsvOptions csv) =>
        new(sha256, csv.Label, [.. csv.Exclude], csv.Delimiter, csv.PositiveLabel, csv.MaxBytes);

    public CsvOptions ToCsvOptions() =>
        new(Label) { Exclude = Exclude, Delimiter = Delimiter, PositiveLabel = PositiveLabel, MaxBytes = MaxBytes };
}

/// <summary>A <see cref="TrialRequest"/> on the wire: hyper-parameters as (name, number, choice) entries, exact.</summary>
[GenerateSerializer, Immutable]
public sealed record RemoteTrial(
    [property: Id(0)] int Number,
    [property: Id(1)] string Algorithm,
    [property: Id(2)] IReadOnlyList<RemoteParameter> Parameters,
    [property: Id(3)] int Folds,
    [property: Id(4)] string Scorer,
    [property: Id(5)] int Seed)
{
    public static RemoteTrial From(TrialRequest trial) => new(
        trial.Number, trial.Algorithm, [.. trial.Parameters.Select(p => new RemoteParameter(p.Key, p.Value.Number, p.Value.Text))],
        trial.Folds, trial.Scorer, trial.Seed);

    public TrialRequest ToRequest() => new(
        Number, Algorithm,
        new HyperParameters(Parameters.Select(p => KeyValuePair.Create(p.Name, p.Number is { } n ? ParameterValue.Of(n) : ParameterValue.Of(p.Text ?? "")))),
        Folds, Scorer, Seed);
}

[GenerateSerializer, Immutable]
public sealed record RemoteParameter([property: Id(0)] string Name, [property: Id(1)] double? Number, [property: Id(2)] string? Text);

[GenerateSerializer, Immutable]
public sealed record RemoteTrialOutcome(
    [property: Id(0)] IReadOnlyList<double> FoldScores,
    [property: Id(1)] bool Stopped,
    [property: Id(2)] IReadOnlyList<double>? OutOfFold);
