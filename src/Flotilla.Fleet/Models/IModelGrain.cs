namespace Flotilla.Fleet.Models;

/// <summary>
/// One model per activation, keyed by its artifact's SHA-256. Orleans keeps one activation across the
/// cluster, so every call for a model goes to the silo that has it loaded.
/// </summary>
public interface IModelGrain : IGrainWithStringKey
{
    /// <summary>Scores the rows of <paramref name="request"/>, loading the model first on a miss.</summary>
    Task<InvocationResult> InvokeAsync(InvocationRequest request);

    /// <summary>Loads the model if it is not loaded yet (pre-warming before an alias moves to it).</summary>
    Task<ModelState> WarmAsync();
}

public enum PayloadFormat
{
    /// <summary>Rows without a header, values in feature order.</summary>
    Csv,

    /// <summary>A JSON array of objects (or one object) with values by feature name.</summary>
    Json,
}

/// <summary>
/// Rows to score. <see cref="Version"/> and <see cref="RequestId"/> only travel to be written beside the
/// predictions in a JSON answer, so the answer is formatted once, where it is scored.
/// </summary>
[GenerateSerializer, Immutable]
public sealed record InvocationRequest(
    [property: Id(0)] string Body,
    [property: Id(1)] PayloadFormat Input,
    [property: Id(2)] PayloadFormat Output,
    [property: Id(3)] int? Version = null,
    [property: Id(4)] string? RequestId = null);

public enum InvocationOutcome
{
    Scored,

    /// <summary>The rows are malformed; <see cref="InvocationResult.Error"/> names the row and column.</summary>
    InvalidInput,

    /// <summary>No artifact with this hash exists in the artifact store.</summary>
    UnknownModel,

    /// <summary>The model exists but cannot be loaded (too large for the budget, corrupt, unreadable).</summary>
    Unavailable,
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
