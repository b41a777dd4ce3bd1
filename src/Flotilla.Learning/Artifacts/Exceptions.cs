namespace Flotilla.Learning.Artifacts;

/// <summary>An artifact that must not be loaded: wrong hash, unknown format version, or corrupt content.</summary>
public sealed class ArtifactException : Exception
{
    public ArtifactException(string message) : base(message) { }

    public ArtifactException(string message, Exception inner) : base(message, inner) { }

    public ArtifactException() { }
}

/// <summary>A row sent for prediction that does not fit the model's schema; the message names row and column.</summary>
public sealed class InvalidRowException : Exception
{
    public InvalidRowException(string message) : base(message) { }

    public InvalidRowException(string message, Exception inner) : base(message, inner) { }

    public InvalidRowException() { }
}
