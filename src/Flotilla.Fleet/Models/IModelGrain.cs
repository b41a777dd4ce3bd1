namespace Flotilla.Fleet.Models;

/// <summary>
/// One model per activation, keyed by its artifact's SHA-256 and the silo that holds it (<see cref="ModelKey"/>):
/// a model has a copy on its home silo, and on more silos once it is hot (<see cref="ModelRouter"/>).
/// </summary>
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>
    /// Scores the rows of <paramref name="request"/>, loading the model first on a miss. No cancellation token: a
    /// score takes microseconds and a token would make every call of the hot path cancellable (docs/decisions.md).
    /// </summary>
    Task<InvocationResult> InvokeAsync(InvocationRequest request);

    /// <summary>Loads the model if it is not loaded yet (pre-warming before an alias moves to it); the token stops the read.</summary>
    Task<ModelState> WarmAsync(CancellationToken cancellationToken = default);
}

public enum PayloadFormat
{
    /// <summary>Rows without a header, values in feature order.</summary>
    Csv,

    /// <summary>A JSON array of objects (or one object) with values by feature name.</summary>
    Json,
}

/// <summary>
/// Rows to score. <see cref="Version"/> and <see cref="RequestId"/> travel to be written beside the predictions in
/// a JSON answer, so the answer is formatted once, where it is scored, and to be remembered for feedback.
/// <see cref="Shadow"/> marks a shadow version's copy of a call already answered: it is scored but not watched, so
/// the call's rows are in one drift window and its request id names one answer (the caller's) for feedback.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record InvocationRequest(
    [property: Id(0)] string Body,
    [property: Id(1)] PayloadFormat Input,
    [property: Id(2)] PayloadFormat Output,
    [property: Id(3)] int? Version = null,
    [property: Id(4)] string? RequestId = null,
    [property: Id(5)] bool Shadow = false);

public enum InvocationOutcome
{
    Scored,

    /// <summary>The rows are malformed; <see cref="InvocationResult.Error"/> names the row and column.</summary>
    InvalidInput,

    /// <summary>No artifact with this hash exists in the artifact store.</summary>
    UnknownModel,

    /// <summary>The model exists but cannot be loaded (too large for the budget, corrupt, unreadable).</summary>
    Unavailable,

    /// <summary>No silo answered within the invocation's deadline (<see cref="FleetOptions.InvocationTimeout"/>); retry later.</summary>
    TimedOut,
}

/// <summary>
/// Outcome of one invocation. Failures are values, not exceptions, so they cross silos without
/// exception serialization and cost nothing on the hot path.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record InvocationResult(
    [property: Id(0)] InvocationOutcome Outcome,
    [property: Id(1)] byte[] Body,
    [property: Id(2)] string? Error,
    [property: Id(3)] int Rows)
{
    public static InvocationResult Failed(InvocationOutcome outcome, string error) => new(outcome, [], error, 0);
}

[GenerateSerializer, Immutable]
public sealed record ModelState(
    [property: Id(0)] string ArtifactSha256,
    [property: Id(1)] bool Loaded,
    [property: Id(2)] InvocationOutcome Outcome,
    [property: Id(3)] string? Error,
    [property: Id(4)] string Silo,
    [property: Id(5)] long Bytes);
