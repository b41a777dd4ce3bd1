using System.Text.Json;
using Dapper;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Datasets;

public sealed record DatasetColumn(string Name, string Kind, int Missing, IReadOnlyList<string> Categories);

/// <summary>A registered dataset: where its CSV is, its label, and what reading it found.</summary>
public sealed record Dataset(
    string Name,
    string Path,
    string Target,
    IReadOnlyList<string> Exclude,
    string Sha256,
    long SizeBytes,
    long RowCount,
    IReadOnlyList<DatasetColumn> Columns,
    IReadOnlyDictionary<string, long> LabelBalance,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt);

/// <summary>The CSV could not be read as a dataset; the message names file, line and column.</summary>
public sealed class DatasetException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// Datasets by name, in the metadata store. A dataset is accepted only after its CSV was read in full with its
/// label, so a pipeline never starts on a file that cannot be modelled. Registering a name again replaces it.
/// </summary>
public sealed class DatasetCatalog(MetadataStore store, IOptions<PipelineOptions> options, TimeProvider time)
{
    private sealed class Row
    {
        public string Name { get; set; } = "";
        public string Path { get; set; } = "";
        public string Target { get; set; } = "";
        public string Exclude { get; set; } = "[]";
        public string Sha256 { get; set; } = "";
        public long SizeBytes { get; set; }
        public long RowCount { get; set; }
        public string Columns { get; set; } = "[]";
        public string LabelBalance { get; set; } = "{}";
        public long CreatedMs { get; set; }
        public long UpdatedMs { get; set; }
    }

    /// <summary>Registers a CSV the server can read at <paramref name="path"/>.</summary>
    public async Task<Dataset> RegisterAsync(string name, string path, string target, IReadOnlyList<string>? exclude, CancellationToken ct)
    {
        CheckName(name);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new DatasetException("'path' is required: a CSV file the server can read.");
        }
        if (string.IsNullOrWhiteSpace(target))
        {
            throw new DatasetException("'target' is required: the header name of the label column.");
        }

        var full = System.IO.Path.GetFullPath(path);
        var roots = options.Value.DataRoots.Select(r => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(r))).ToList();
        if (roots.Count > 0 && !roots.Any(r => full.StartsWith(r + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)))
        {
            throw new DatasetException($"'{path}' is outside the folders this server may read datasets from ({string.Join(", ", roots)}). Move the file there, or upload it instead.");
        }

        var table = await ReadAsync(full, target, exclude ?? [], ct);
        return await SaveAsync(name, full, target, exclude ?? [], table, ct);
    }

    /// <summary>Saves an uploaded CSV as <c>&lt;DataDirectory&gt;/datasets/&lt;name&gt;.csv</c> and registers it.</summary>
    public async Task<Dataset> UploadAsync(string name, Stream csv, string target, IReadOnlyList<string>? exclude, CancellationToken ct)
    {
        CheckName(name);
        if (string.IsNullOrWhiteSpace(target))
        {
            throw new DatasetException("'target' is required: the header name of the label column.");
        }

        Directory.CreateDirectory(options.Value.DatasetsDirectory);
        var final = System.IO.Path.Combine(options.Value.DatasetsDirectory, $"{name}.csv");
        var temporary = $"{final}.{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = File.Create(temporary))
            {
                await csv.CopyToAsync(file, ct);
            }

            // Read before replacing, so a bad upload never damages the dataset already stored under this name.
            var table = await ReadAsync(temporary, target, exclude ?? [], ct, shownAs: $"{name}.csv");
            File.Move(temporary, final, overwrite: true);
            return await SaveAsync(name, final, target, exclude ?? [], table, ct);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Downloads an http(s) CSV into the data folder and registers it, like an upload.</summary>
    public async Task<Dataset> DownloadAsync(string name, Uri url, string target, IReadOnlyList<string>? exclude, HttpClient http, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new DatasetException($"{url}: cannot download the CSV: {e.Message}", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new DatasetException($"{url}: the server answered {(int)response.StatusCode} {response.ReasonPhrase}; expected the CSV.");
            }
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            return await UploadAsync(name, body, target, exclude, ct);
        }
    }

    public async Task<IReadOnlyList<Dataset>> ListAsync(CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return [.. (await c.QueryAsync<Row>(new CommandDefinition("SELECT * FROM datasets ORDER BY name", cancellationToken: ct))).Select(ToDataset)];
    }

    public async Task<Dataset?> FindAsync(string name, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        var row = await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT * FROM datasets WHERE name = @Name", new { Name = name }, cancellationToken: ct));
        return row is null ? null : ToDataset(row);
    }

    public async Task<Dataset> GetAsync(string name, CancellationToken ct) =>
        await FindAsync(name, ct) ?? throw new NotFoundException($"No dataset named '{name}'. Register it first: POST /api/datasets or `flotilla dataset add {name} --csv PATH --target COLUMN`.");

    /// <summary>Reads a registered dataset's table afresh, so the hash an execution records is of the content it used.</summary>
    public async Task<(Dataset Dataset, Table Table)> LoadAsync(string name, CancellationToken ct)
    {
        var dataset = await GetAsync(name, ct);
        var table = await ReadAsync(dataset.Path, dataset.Target, dataset.Exclude, ct);
        return (dataset, table);
    }

    /// <summary>Forgets a dataset; an uploaded file (under the data folder) is deleted with it.</summary>
    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        var dataset = await GetAsync(name, ct);
        await using (var c = await store.OpenConnectionAsync(ct))
        {
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM datasets WHERE name = @Name", new { Name = name }, cancellationToken: ct));
        }
        if (System.IO.Path.GetDirectoryName(dataset.Path) == System.IO.Path.GetFullPath(options.Value.DatasetsDirectory))
        {
            File.Delete(dataset.Path);
        }
    }

    internal static CsvOptions CsvOptionsFor(Dataset dataset) => new(dataset.Target) { Exclude = dataset.Exclude };

    private static async Task<Table> ReadAsync(string path, string target, IReadOnlyList<string> exclude, CancellationToken ct, string? shownAs = null)
    {
        try
        {
            // Parsing is CPU-bound; keep it off the request thread.
            return await Task.Run(() => TableReader.Read(path, new CsvOptions(target.Trim()) { Exclude = exclude }, ct), ct);
        }
        catch (DataFormatException e)
        {
            var message = shownAs is null ? e.Message : e.Message.Replace(System.IO.Path.GetFileName(path), shownAs, StringComparison.Ordinal);
            throw new DatasetException(message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{shownAs ?? path}: cannot read the file: {e.Message}", e);
        }
    }

    private async Task<Dataset> SaveAsync(string name, string path, string target, IReadOnlyList<string> exclude, Table table, CancellationToken ct)
    {
        var columns = table.Columns.Select(c => new DatasetColumn(
            c.Name, c.Kind.ToString(), c.MissingCount, [.. c.Categories.Take(50)])).ToList();
        var balance = new Dictionary<string, long>
        {
            [table.LabelMapping.Negative] = table.NegativeCount,
            [table.LabelMapping.Positive] = table.PositiveCount,
        };
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var row = new Row
        {
            Name = name,
            Path = path,
            Target = target.Trim(),
            Exclude = JsonSerializer.Serialize(exclude),
            Sha256 = table.Sha256,
            SizeBytes = new FileInfo(path).Length,
            RowCount = table.RowCount,
            Columns = JsonSerializer.Serialize(columns),
            LabelBalance = JsonSerializer.Serialize(balance),
            CreatedMs = now,
            UpdatedMs = now,
        };
        await using var c = await store.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO datasets (name, path, target, exclude, sha256, size_bytes, row_count, columns, label_balance, created_ms, updated_ms)
            VALUES (@Name, @Path, @Target, @Exclude, @Sha256, @SizeBytes, @RowCount, @Columns, @LabelBalance, @CreatedMs, @UpdatedMs)
            ON CONFLICT (name) DO UPDATE SET path = excluded.path, target = excluded.target, exclude = excluded.exclude,
                sha256 = excluded.sha256, size_bytes = excluded.size_bytes, row_count = excluded.row_count,
                columns = excluded.columns, label_balance = excluded.label_balance, updated_ms = excluded.updated_ms
            """,
            row, cancellationToken: ct));
        return (await FindAsync(name, ct))!;
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !DefinitionReader.IsName(name))
        {
            throw new DatasetException($"'{name}' is not a valid dataset name: use letters, digits, '-' and '_' (at most 64).");
        }
    }

    private static Dataset ToDataset(Row r) => new(
        r.Name, r.Path, r.Target, JsonSerializer.Deserialize<string[]>(r.Exclude) ?? [], r.Sha256, r.SizeBytes, r.RowCount,
        JsonSerializer.Deserialize<DatasetColumn[]>(r.Columns) ?? [],
        JsonSerializer.Deserialize<Dictionary<string, long>>(r.LabelBalance) ?? [],
        DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedMs), DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedMs));
}
