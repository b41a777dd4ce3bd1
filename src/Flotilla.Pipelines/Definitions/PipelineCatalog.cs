using System.Collections.Concurrent;
using Dapper;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Steps;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Definitions;

/// <summary>A pipeline as stored: its parsed definition and the text it was written in.</summary>
public sealed record StoredPipeline(PipelineDefinition Definition, string Source, bool BuiltIn, DateTimeOffset UpdatedAt);

/// <summary>
/// The pipelines a user can run: the built-in <c>multimodel</c> (an embedded resource) and those created
/// through the API, kept in the metadata store. Creating a pipeline with an existing name replaces it;
/// executions keep the text they started with.
/// </summary>
public sealed class PipelineCatalog(MetadataStore store, StepCatalog steps, IOptions<PipelineOptions> options, TimeProvider time)
{
    public const string BuiltInName = "multimodel";

    private static readonly Lazy<string> BuiltInSource = new(() =>
    {
        using var stream = typeof(PipelineCatalog).Assembly.GetManifestResourceStream("Flotilla.Pipelines.Definitions.multimodel.yaml")
            ?? throw new InvalidOperationException("The built-in pipeline definition multimodel.yaml is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    private readonly ConcurrentDictionary<string, PipelineDefinition> _parsed = new();

    private sealed class Row
    {
        public string Name { get; set; } = "";
        public string Source { get; set; } = "";
        public long UpdatedMs { get; set; }
    }

    public static string BuiltInText => BuiltInSource.Value;

    public async Task<IReadOnlyList<StoredPipeline>> ListAsync(CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<Row>(new CommandDefinition(
            "SELECT name, source, updated_ms FROM pipeline_definitions ORDER BY name", cancellationToken: ct));
        return [BuiltIn(), .. rows.Where(r => r.Name != BuiltInName).Select(ToStored)];
    }

    public async Task<StoredPipeline?> FindAsync(string name, CancellationToken ct)
    {
        if (name == BuiltInName)
        {
            return BuiltIn();
        }

        await using var c = await store.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT name, source, updated_ms FROM pipeline_definitions WHERE name = @Name", new { Name = name }, cancellationToken: ct));
        return row is null ? null : ToStored(row);
    }

    public async Task<StoredPipeline> GetAsync(string name, CancellationToken ct) =>
        await FindAsync(name, ct) ?? throw new NotFoundException($"No pipeline named '{name}'. GET /api/pipelines lists them; POST /api/pipelines creates one.");

    /// <summary>Validates a definition without storing it; throws <see cref="DefinitionException"/> naming every problem.</summary>
    public PipelineDefinition Read(string source) => DefinitionReader.Parse(source, steps);

    /// <summary>Validates and stores a definition; throws <see cref="DefinitionException"/> naming every problem.</summary>
    public async Task<StoredPipeline> CreateAsync(string source, CancellationToken ct)
    {
        var definition = Read(source);
        ProcessStep.EnsureAllowed(definition, options.Value);
        if (definition.Name == BuiltInName)
        {
            throw new ConflictException($"'{BuiltInName}' is the built-in pipeline and cannot be replaced; give yours another name.");
        }

        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var c = await store.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO pipeline_definitions (name, source, builtin, created_ms, updated_ms) VALUES (@Name, @Source, 0, @Now, @Now)
            ON CONFLICT (name) DO UPDATE SET source = excluded.source, updated_ms = excluded.updated_ms
            """,
            new { definition.Name, Source = source, Now = now }, cancellationToken: ct));
        _parsed[source] = definition;
        return new StoredPipeline(definition, source, false, DateTimeOffset.FromUnixTimeMilliseconds(now));
    }

    /// <summary>Parses a stored text once per process (texts were validated when stored).</summary>
    internal PipelineDefinition Parse(string source) => _parsed.GetOrAdd(source, s => DefinitionReader.Parse(s, steps));

    private StoredPipeline BuiltIn() => new(Parse(BuiltInText), BuiltInText, true, DateTimeOffset.UnixEpoch);

    private StoredPipeline ToStored(Row row) => new(Parse(row.Source), row.Source, false, DateTimeOffset.FromUnixTimeMilliseconds(row.UpdatedMs));
}
