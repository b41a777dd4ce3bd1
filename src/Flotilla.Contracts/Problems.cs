namespace Flotilla.Contracts;

/// <summary>
/// An RFC 7807 problem, as every error answer carries it. A refused definition or parameter set adds
/// <see cref="Errors"/>; a 403 names the role the key lacks in <see cref="RequiredRole"/>.
/// </summary>
public sealed record Problem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? Instance = null,
    IReadOnlyList<ProblemError>? Errors = null,
    string? RequiredRole = null);

/// <summary>One thing wrong with a definition or its parameters, and where (e.g. <c>steps[2].inputs.model</c>).</summary>
public sealed record ProblemError(string Where, string Message);
