using System.Collections.Concurrent;
using Flotilla.Learning.Artifacts;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// The schema (features, label mapping) of a model by its artifact, read once from the artifact store: what the capture
/// writer reads rows by and captured feedback tells labels apart with. An artifact never changes, so nothing expires;
/// past <see cref="MaxSchemas"/> the cache starts over.
/// </summary>
public sealed partial class ModelSchemas(IArtifactStore store, ILogger<ModelSchemas> logger)
{
    private const int MaxSchemas = 256;

    private readonly ConcurrentDictionary<string, ModelSchema?> _schemas = new(StringComparer.Ordinal);

    /// <summary>The schema of the model stored as <paramref name="artifactSha256"/>, or null (logged) when its artifact cannot be read.</summary>
    public async Task<ModelSchema?> GetAsync(string artifactSha256, CancellationToken cancellationToken)
    {
        if (_schemas.TryGetValue(artifactSha256, out var known))
        {
            return known;
        }
        ModelSchema? schema;
        try
        {
            schema = ModelArtifact.Load(await store.ReadVerifiedAsync(artifactSha256, cancellationToken), artifactSha256).Schema;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogUnreadable(logger, artifactSha256, e);
            schema = null;
        }
        if (_schemas.Count >= MaxSchemas)
        {
            _schemas.Clear();
        }
        _schemas[artifactSha256] = schema;
        return schema;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The schema of model {ArtifactSha256} cannot be read from its artifact: its captured calls are not written and not joined to feedback")]
    private static partial void LogUnreadable(ILogger logger, string artifactSha256, Exception exception);
}
