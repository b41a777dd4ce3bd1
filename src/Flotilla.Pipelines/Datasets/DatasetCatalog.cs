using System.Text.Json;
using Dapper;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Logging;
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
/// <remarks>
/// A path is a file under the data roots (symbolic links resolved, checked before the file is opened); a URL is
/// fetched only from an allowed host (<see cref="UrlPolicy"/>). For a file the caller did not send, errors name
/// the line and column but never quote the file's content: a refusal must not become a way to read the
/// server's files. An upload is stored as <c>datasets/&lt;name&gt;.csv</c>, relative to the data folder, and is
/// the only file deleting a dataset deletes.
/// </remarks>
public sealed partial class DatasetCatalog(
    MetadataStore store, IOptions<PipelineOptions> options, UrlPolicy urls, TimeProvider time, ILogger<DatasetCatalog> logger)
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

        /// <summary>1: the file is this dataset's upload; 0: registered by path; null: a row from before this was kept.</summary>
        public long? Uploaded { get; set; }
    }

    /// <summary>Registers a CSV under the data roots at <paramref name="path"/>.</summary>
    public async Task<Dataset> RegisterAsync(string name, string path, string target, IReadOnlyList<string>? exclude, CancellationToken ct)
    {
        CheckName(name);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new DatasetException("'path' is required: a CSV file under the server's data roots, or an http(s) URL on an allowed host.");
        }
        if (string.IsNullOrWhiteSpace(target))
        {
            throw new DatasetException("'target' is required: the header name of the label column.");
        }

        var resolved = InsideRoots(path);
        var table = await ReadAsync(resolved, target, exclude ?? [], ct, new Shown(path, Quoting: false));
        return await SaveAsync(name, resolved, uploaded: false, target, exclude ?? [], table, ct);
    }

    /// <summary>Saves an uploaded CSV as <c>&lt;DataDirectory&gt;/datasets/&lt;name&gt;.csv</c> and registers it.</summary>
    public Task<Dataset> UploadAsync(string name, Stream csv, string target, IReadOnlyList<string>? exclude, CancellationToken ct) =>
        StoreAsync(name, csv, target, exclude, new Shown($"{name}.csv", Quoting: true), ct);

    /// <summary>Downloads an http(s) CSV from an allowed host into the data folder and registers it, like an upload.</summary>
    /// <remarks>
    /// Every failure to fetch gets the same answer, whatever happened (no answer, refused, not found): the
    /// difference between a closed port and an open one must not be readable from outside.
    /// </remarks>
    public async Task<Dataset> DownloadAsync(string name, Uri url, string target, IReadOnlyList<string>? exclude, HttpClient http, CancellationToken ct)
    {
        CheckName(name);
        if (urls.Refusal(url) is { } refusal)
        {
            throw new DatasetException($"{url}: {refusal}");
        }

        var failed = $"{url}: the CSV could not be downloaded (no connection, or no 200 answer). Check the URL, or upload the file.";
        HttpResponseMessage response;
        try
        {
            response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e) when (e.InnerException is UrlRefusedException refused)
        {
            throw new DatasetException($"{url}: {refused.Message}", e);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // The caller learns only that it failed; the operator reads why here.
            DownloadFailed(logger, name, url, e.Message, e);
            throw new DatasetException(failed, e);
        }

        using (response)
        {
            if (response.StatusCode != System.Net.HttpStatusCode.OK)
            {
                DownloadFailed(logger, name, url, $"answered {(int)response.StatusCode}", null);
                throw new DatasetException(failed);
            }
            await using var body = await response.Content.ReadAsStreamAsync(ct);
            return await StoreAsync(name, body, target, exclude, new Shown(url.ToString(), Quoting: false), ct);
        }
    }

    public async Task<IReadOnlyList<Dataset>> ListAsync(CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return [.. (await c.QueryAsync<Row>(new CommandDefinition("SELECT * FROM datasets ORDER BY name", cancellationToken: ct))).Select(ToDataset)];
    }

    public async Task<Dataset?> FindAsync(string name, CancellationToken ct)
    {
        var row = await FindRowAsync(name, ct);
        return row is null ? null : ToDataset(row);
    }

    public async Task<Dataset> GetAsync(string name, CancellationToken ct) => await FindAsync(name, ct) ?? throw NotFound(name);

    private static NotFoundException NotFound(string name) =>
        new($"No dataset named '{name}'. Register it first: POST /api/datasets or `flotilla dataset add {name} --csv PATH --target COLUMN`.");

    /// <summary>Reads a registered dataset's table afresh, so the hash an execution records is of the content it used.</summary>
    public async Task<(Dataset Dataset, Table Table)> LoadAsync(string name, CancellationToken ct)
    {
        var row = await FindRowAsync(name, ct) ?? throw NotFound(name);
        var dataset = ToDataset(row);
        var uploaded = OwnsFile(row);
        // A file registered by path is checked again: it may have been replaced by a link since.
        var path = uploaded ? dataset.Path : InsideRoots(dataset.Path);
        var table = await ReadAsync(path, dataset.Target, dataset.Exclude, ct, new Shown(dataset.Path, Quoting: uploaded));
        return (dataset, table);
    }

    /// <summary>Forgets a dataset; the file is deleted only if this dataset's own upload created it.</summary>
    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        var row = await FindRowAsync(name, ct) ?? throw NotFound(name);
        await using (var c = await store.OpenConnectionAsync(ct))
        {
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM datasets WHERE name = @Name", new { Name = name }, cancellationToken: ct));
        }
        if (OwnsFile(row))
        {
            File.Delete(FullPath(row));
        }
    }

    internal static CsvOptions CsvOptionsFor(Dataset dataset) => new(dataset.Target) { Exclude = dataset.Exclude };

    private sealed record Shown(string Name, bool Quoting);

    // Rows from before ownership was kept: an upload always wrote datasets/<its own name>.csv.
    private bool OwnsFile(Row row) => row.Uploaded switch
    {
        1 => true,
        0 => false,
        _ => System.IO.Path.GetFullPath(FullPath(row)) == System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DatasetsDirectory, $"{row.Name}.csv")),
    };

    // Uploads are stored relative to the data folder, so a moved data folder still finds them; older rows hold absolute paths.
    private string FullPath(Row row) => System.IO.Path.IsPathFullyQualified(row.Path)
        ? row.Path
        : System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DataDirectory, row.Path));

    private string InsideRoots(string path)
    {
        var roots = options.Value.EffectiveDataRoots;
        string resolved;
        try
        {
            resolved = SafePath.Resolve(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            resolved = "";
        }
        if (resolved.Length > 0 && SafePath.IsUnder(resolved, roots))
        {
            return resolved;
        }
        PathRefused(logger, path, resolved);
        throw new DatasetException($"'{path}' is outside the folders this server may read datasets from ({string.Join(", ", roots)}; symbolic links resolved). Put the file there, or upload it instead (`flotilla dataset add` uploads by default).");
    }

    private async Task<Dataset> StoreAsync(string name, Stream csv, string target, IReadOnlyList<string>? exclude, Shown shown, CancellationToken ct)
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
            var table = await ReadAsync(temporary, target, exclude ?? [], ct, shown);
            File.Move(temporary, final, overwrite: true);
            return await SaveAsync(name, final, uploaded: true, target, exclude ?? [], table, ct);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private static async Task<Table> ReadAsync(string path, string target, IReadOnlyList<string> exclude, CancellationToken ct, Shown shown)
    {
        Table table;
        try
        {
            // Parsing is CPU-bound; keep it off the request thread.
            table = await Task.Run(() => TableReader.Read(path, new CsvOptions(target.Trim()) { Exclude = exclude }, ct), ct);
        }
        catch (DataFormatException e)
        {
            var message = e.Message.Replace(path, shown.Name, StringComparison.Ordinal)
                .Replace(System.IO.Path.GetFileName(path), shown.Name, StringComparison.Ordinal);
            throw new DatasetException(shown.Quoting ? message : CsvErrors.WithoutContent(message, shown.Name, target.Trim()), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{shown.Name}: cannot read the file.", e);
        }

        if (table.Columns.Count == 0)
        {
            throw new DatasetException(
                $"{shown.Name}: no feature columns are left: the file has only the label column '{target.Trim()}', or every other column is in exclude. A model needs at least one feature.");
        }
        return table;
    }

    private async Task<Dataset> SaveAsync(string name, string path, bool uploaded, string target, IReadOnlyList<string> exclude, Table table, CancellationToken ct)
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
            Path = uploaded ? System.IO.Path.GetRelativePath(options.Value.DataDirectory, path) : path,
            Target = target.Trim(),
            Exclude = JsonSerializer.Serialize(exclude),
            Sha256 = table.Sha256,
            SizeBytes = new FileInfo(path).Length,
            RowCount = table.RowCount,
            Columns = JsonSerializer.Serialize(columns),
            LabelBalance = JsonSerializer.Serialize(balance),
            CreatedMs = now,
            UpdatedMs = now,
            Uploaded = uploaded ? 1 : 0,
        };
        await using var c = await store.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO datasets (name, path, target, exclude, sha256, size_bytes, row_count, columns, label_balance, created_ms, updated_ms, uploaded)
            VALUES (@Name, @Path, @Target, @Exclude, @Sha256, @SizeBytes, @RowCount, @Columns, @LabelBalance, @CreatedMs, @UpdatedMs, @Uploaded)
            ON CONFLICT (name) DO UPDATE SET path = excluded.path, target = excluded.target, exclude = excluded.exclude,
                sha256 = excluded.sha256, size_bytes = excluded.size_bytes, row_count = excluded.row_count,
                columns = excluded.columns, label_balance = excluded.label_balance, updated_ms = excluded.updated_ms,
                uploaded = excluded.uploaded
            """,
            row, cancellationToken: ct));
        return (await FindAsync(name, ct))!;
    }

    private async Task<Row?> FindRowAsync(string name, CancellationToken ct)
    {
        await using var c = await store.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "SELECT * FROM datasets WHERE name = @Name", new { Name = name }, cancellationToken: ct));
    }

    private static void CheckName(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !DefinitionReader.IsName(name))
        {
            throw new DatasetException($"'{name}' is not a valid dataset name: use letters, digits, '-' and '_' (at most 64).");
        }
    }

    private Dataset ToDataset(Row r) => new(
        r.Name, FullPath(r), r.Target, JsonSerializer.Deserialize<string[]>(r.Exclude) ?? [], r.Sha256, r.SizeBytes, r.RowCount,
        JsonSerializer.Deserialize<DatasetColumn[]>(r.Columns) ?? [],
        JsonSerializer.Deserialize<Dictionary<string, long>>(r.LabelBalance) ?? [],
        DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedMs), DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedMs));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataset {Name}: downloading {Url} failed: {Reason}")]
    private static partial void DownloadFailed(ILogger logger, string name, Uri url, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dataset path outside the data roots was refused: {Path} (resolved: {Resolved})")]
    private static partial void PathRefused(ILogger logger, string path, string resolved);
}
