using System.Text.Json;
using Dapper;
using Flotilla.Learning.Data;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
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
/// label, so a pipeline never starts on a file that cannot be modelled. One registered without a target (an empty
/// one) is for scoring only: its file is streamed once — counted, typed, checked record by record — never held as a
/// table, so it may be larger than memory, and a pipeline refuses it. Registering a name again replaces it.
/// </summary>
/// <remarks>
/// A path is a file under the data roots (symbolic links resolved, checked before the file is opened); a URL is
/// fetched only from an allowed host (<see cref="UrlPolicy"/>). For a file the caller did not send, errors name
/// the line and column but never quote the file's content: a refusal must not become a way to read the
/// server's files. An upload (or a download, or an <c>s3://</c> object) is kept in the artifact store as
/// <c>datasets/&lt;sha256&gt;/data.csv</c>, so every server reads it (through its local cache); two datasets with
/// the same content share the object, and it is deleted with the last of them. A path under the data roots is read
/// in place, except in the cluster shape (a shared artifact store), where it is copied into the store when
/// registered: a path only one machine has must not decide where a pipeline can run. Rows from before the store
/// held uploads name <c>datasets/&lt;name&gt;.csv</c> relative to the data folder and are read from there.
/// </remarks>
public sealed partial class DatasetCatalog(
    MetadataStore store,
    IArtifactStore artifacts,
    ArtifactCache cache,
    S3ObjectSource s3,
    IOptions<PipelineOptions> options,
    IOptions<StorageOptions> storage,
    IOptions<DatasetSourceOptions> sources,
    UrlPolicy urls,
    TimeProvider time,
    ILogger<DatasetCatalog> logger)
{
    /// <summary>The artifact store area of datasets' files.</summary>
    public const string Area = "datasets";

    // One name for every dataset's object, so the same bytes under two dataset names are one object.
    private const string StoredName = "data.csv";

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

    /// <summary>Registers a CSV under the data roots at <paramref name="path"/>; without a target, for scoring only.</summary>
    public async Task<Dataset> RegisterAsync(string name, string path, string target, IReadOnlyList<string>? exclude, CancellationToken ct)
    {
        CheckName(name);
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new DatasetException("'path' is required: a CSV file under the server's data roots, or an http(s) URL on an allowed host.");
        }
        var resolved = InsideRoots(path);
        var contents = await ReadContentsAsync(resolved, target, exclude ?? [], ct, new Shown(path, Quoting: false));
        if (storage.Value.HasSharedArtifactStore)
        {
            var key = await cache.PutFileAsync(Area, resolved, StoredName, ct);
            return await SaveAsync(name, key.Key, new FileInfo(resolved).Length, uploaded: false, target, exclude ?? [], contents, ct);
        }
        return await SaveAsync(name, resolved, new FileInfo(resolved).Length, uploaded: false, target, exclude ?? [], contents, ct);
    }

    /// <summary>
    /// Reads an <c>s3://bucket/key</c> CSV through the storage's S3 endpoint and credentials into the artifact store
    /// and registers it, like an upload. Only buckets in <c>Flotilla:Datasets:AllowedS3Buckets</c> are read.
    /// </summary>
    public async Task<Dataset> ImportS3Async(string name, string uri, string target, IReadOnlyList<string>? exclude, CancellationToken ct)
    {
        CheckName(name);
        if (!S3ObjectSource.TryParse(uri, out var bucket, out var key))
        {
            throw new DatasetException($"'{uri}' is not an S3 URI: expected s3://bucket/key.");
        }
        if (!sources.Value.AllowedS3Buckets.Contains(bucket, StringComparer.Ordinal))
        {
            throw new DatasetException($"{uri}: bucket '{bucket}' is not one this server may read datasets from. An administrator lists it in {DatasetSourceOptions.Section}:AllowedS3Buckets.");
        }
        Stream body;
        try
        {
            body = await s3.OpenAsync(bucket, key, ct);
        }
        catch (Exception e) when (e is ObjectNotFoundException or Amazon.Runtime.AmazonServiceException or HttpRequestException && !ct.IsCancellationRequested)
        {
            // As with URLs: the caller learns that it failed, the operator reads why.
            S3ReadFailed(logger, name, uri, e.Message, e);
            throw new DatasetException($"{uri}: the CSV could not be read (no such object, no access, or the store did not answer). Check the URI and the server's S3 settings.", e);
        }
        await using (body)
        {
            return await StoreAsync(name, body, target, exclude, new Shown(uri, Quoting: false), ct);
        }
    }

    /// <summary>Saves an uploaded CSV in the artifact store (<c>datasets/&lt;sha256&gt;/data.csv</c>) and registers it.</summary>
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
        if (!HasTarget(dataset))
        {
            throw new DatasetException(
                $"Dataset '{name}' has no target column: it was registered for scoring only (batch jobs). Register it again with its label column as target to train on it.");
        }
        var path = await LocalPathAsync(row, ct);
        var table = await ReadAsync(path, dataset.Target, dataset.Exclude, ct, new Shown(dataset.Path, Quoting: row.Uploaded == 1 || OwnsFile(row)));
        return (dataset, table);
    }

    /// <summary>The dataset's CSV as a file on this machine: fetched from the artifact store (once) if it is kept there.</summary>
    public async Task<string> LocalPathAsync(Dataset dataset, CancellationToken ct) =>
        await LocalPathAsync(await FindRowAsync(dataset.Name, ct) ?? throw NotFound(dataset.Name), ct);

    /// <summary>Whether the dataset's CSV is kept in the artifact store (the same on every server) rather than at a path.</summary>
    public static bool IsStored(Dataset dataset) => StoredKey(dataset.Path) is not null;

    private async Task<string> LocalPathAsync(Row row, CancellationToken ct)
    {
        if (StoredKey(row.Path) is { } key)
        {
            try
            {
                return await cache.GetLocalPathAsync(key, ct);
            }
            catch (Exception e) when (e is ObjectNotFoundException or ArtifactIntegrityException)
            {
                throw new DatasetException($"Dataset '{row.Name}': its CSV {key.Key} cannot be read from {artifacts}: {e.Message} Register it again.", e);
            }
        }
        // A file registered by path is checked again: it may have been replaced by a link since.
        return OwnsFile(row) ? FullPath(row) : InsideRoots(FullPath(row));
    }

    /// <summary>
    /// Forgets a dataset. Its file goes with it only if it was its own: an object in the artifact store once no
    /// other dataset names it, or a legacy upload's file; a file registered by path is never deleted.
    /// </summary>
    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        var row = await FindRowAsync(name, ct) ?? throw NotFound(name);
        await using (var c = await store.OpenConnectionAsync(ct))
        {
            await c.ExecuteAsync(new CommandDefinition("DELETE FROM datasets WHERE name = @Name", new { Name = name }, cancellationToken: ct));
        }
        await ForgetFileAsync(row, ct);
    }

    private async Task ForgetFileAsync(Row row, CancellationToken ct)
    {
        if (StoredKey(row.Path) is { } key)
        {
            await using var c = await store.OpenConnectionAsync(ct);
            var references = await c.ExecuteScalarAsync<long>(new CommandDefinition(
                "SELECT COUNT(*) FROM datasets WHERE path = @Path", new { row.Path }, cancellationToken: ct));
            if (references == 0)
            {
                await artifacts.DeleteObjectAsync(key.Key, ct);
            }
        }
        else if (OwnsFile(row))
        {
            File.Delete(FullPath(row));
        }
    }

    private static ContentKey? StoredKey(string path) =>
        ContentKey.TryParse(path, out var key) && key.Area == Area ? key : null;

    internal static CsvOptions CsvOptionsFor(Dataset dataset) => new(dataset.Target) { Exclude = dataset.Exclude };

    private sealed record Shown(string Name, bool Quoting);

    // Rows from before ownership was kept: an upload always wrote datasets/<its own name>.csv.
    private bool OwnsFile(Row row) => StoredKey(row.Path) is null && row.Uploaded switch
    {
        1 => true,
        0 => false,
        _ => System.IO.Path.GetFullPath(FullPath(row)) == System.IO.Path.GetFullPath(System.IO.Path.Combine(options.Value.DatasetsDirectory, $"{row.Name}.csv")),
    };

    // Uploads are stored relative to the data folder, so a moved data folder still finds them; older rows hold absolute paths.
    private string FullPath(Row row) => System.IO.Path.IsPathFullyQualified(row.Path) || StoredKey(row.Path) is not null
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
        Directory.CreateDirectory(options.Value.DatasetsDirectory);
        var temporary = System.IO.Path.Combine(options.Value.DatasetsDirectory, $"{name}.csv.{Guid.NewGuid():N}.tmp");
        try
        {
            await using (var file = File.Create(temporary))
            {
                await csv.CopyToAsync(file, ct);
            }

            // Read before storing, so a bad upload never damages the dataset already registered under this name.
            var contents = await ReadContentsAsync(temporary, target, exclude ?? [], ct, shown);
            var key = await cache.PutFileAsync(Area, temporary, StoredName, ct);
            return await SaveAsync(name, key.Key, new FileInfo(temporary).Length, uploaded: true, target, exclude ?? [], contents, ct);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Whether the dataset names a label column (one registered without is for scoring only).</summary>
    public static bool HasTarget(Dataset dataset) => dataset.Target.Length > 0;

    /// <summary>What a dataset row records of its file: read as a table with its label, or, without a target, scanned as a stream.</summary>
    private sealed record Contents(string Sha256, long Rows, IReadOnlyList<DatasetColumn> Columns, IReadOnlyDictionary<string, long> LabelBalance);

    private static async Task<Contents> ReadContentsAsync(string path, string? target, IReadOnlyList<string> exclude, CancellationToken ct, Shown shown)
    {
        if (!string.IsNullOrWhiteSpace(target))
        {
            var table = await ReadAsync(path, target, exclude, ct, shown);
            return new Contents(table.Sha256, table.RowCount,
                [.. table.Columns.Select(c => new DatasetColumn(c.Name, c.Kind.ToString(), c.MissingCount, [.. c.Categories.Take(50)]))],
                new Dictionary<string, long> { [table.LabelMapping.Negative] = table.NegativeCount, [table.LabelMapping.Positive] = table.PositiveCount });
        }
        ScannedCsv scanned;
        try
        {
            // A file to score may be far larger than memory: streamed, only counted and typed.
            scanned = await CsvScan.ReadAsync(path, shown.Name, ct);
        }
        catch (DataFormatException e)
        {
            var message = e.Message.Replace(path, shown.Name, StringComparison.Ordinal);
            throw new DatasetException(shown.Quoting ? message : CsvErrors.WithoutContent(message, shown.Name, ""), e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DatasetException($"{shown.Name}: cannot read the file.", e);
        }
        return new Contents(scanned.Sha256, scanned.Rows,
            [.. scanned.Columns.Where(c => !exclude.Contains(c.Name)).Select(c => new DatasetColumn(c.Name, c.Kind.ToString(), c.Missing, c.Categories))],
            new Dictionary<string, long>());
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

    /// <summary>Saves the row; <paramref name="path"/> is a store key, or a file registered by path.</summary>
    private async Task<Dataset> SaveAsync(string name, string path, long size, bool uploaded, string? target, IReadOnlyList<string> exclude, Contents contents, CancellationToken ct)
    {
        var replaced = await FindRowAsync(name, ct);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var row = new Row
        {
            Name = name,
            Path = path,
            Target = target?.Trim() ?? "",
            Exclude = JsonSerializer.Serialize(exclude),
            Sha256 = contents.Sha256,
            SizeBytes = size,
            RowCount = contents.Rows,
            Columns = JsonSerializer.Serialize(contents.Columns),
            LabelBalance = JsonSerializer.Serialize(contents.LabelBalance),
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
        if (replaced is not null && replaced.Path != path)
        {
            await ForgetFileAsync(replaced, ct);
        }
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dataset {Name}: reading {Uri} failed: {Reason}")]
    private static partial void S3ReadFailed(ILogger logger, string name, string uri, string reason, Exception? exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dataset path outside the data roots was refused: {Path} (resolved: {Resolved})")]
    private static partial void PathRefused(ILogger logger, string path, string resolved);
}
