namespace Flotilla.Pipelines.Definitions;

/// <summary>One problem in a definition, with the place it was found (e.g. <c>steps[Tune].inputs.train</c>).</summary>
public sealed record DefinitionError(string Where, string Message)
{
    public override string ToString() => $"{Where}: {Message}";
}

/// <summary>A definition was refused; <see cref="Errors"/> lists every problem found, each with its place.</summary>
public sealed class DefinitionException(IReadOnlyList<DefinitionError> errors)
    : Exception($"The pipeline definition is invalid: {string.Join("; ", errors)}")
{
    public IReadOnlyList<DefinitionError> Errors { get; } = errors;
}
