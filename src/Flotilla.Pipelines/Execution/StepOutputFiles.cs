using System.Text.Json.Nodes;
using Flotilla.Pipelines.Steps;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>
/// Step outputs that are files live in the artifact store, so any server can resume or reuse them. When a step
/// ends, each file it names (a declared file output, or for a Process step any output naming a file in its work
/// folder) is stored content-addressed as <c>files/&lt;sha256&gt;/&lt;name&gt;</c> and the output keeps that key; a
/// Process step's output folder is stored under <c>executions/&lt;id&gt;/&lt;step&gt;/&lt;run&gt;/</c> and its
/// <c>directory</c> output keeps that prefix. A step that reads them gets local paths again, from this machine's
/// <see cref="ArtifactCache"/>. Rows written before this rule hold paths relative to the data folder (or absolute
/// ones) and are resolved as before.
/// </summary>
public sealed class StepOutputFiles(IOptions<PipelineOptions> options, IArtifactStore store, ArtifactCache cache)
{
    /// <summary>The store area of step files.</summary>
    public const string Area = "files";

    private const string FolderOutput = "directory";

    private string DataDirectory => Path.GetFullPath(options.Value.DataDirectory);

    /// <summary>The outputs as stored: every file the step wrote put in the store and named by its key.</summary>
    public async Task<string> ToStoredAsync(string executionId, string step, StepKind kind, JsonObject outputs, string workDirectory, CancellationToken ct)
    {
        var work = Path.GetFullPath(workDirectory) + Path.DirectorySeparatorChar;
        foreach (var (name, path) in Strings(outputs))
        {
            if (kind.HasOpenOutputs && name == FolderOutput && Path.IsPathFullyQualified(path) && Directory.Exists(path))
            {
                outputs[name] = await PutFolderAsync(executionId, step, path, ct);
            }
            else if (Path.IsPathFullyQualified(path) && File.Exists(path)
                && (kind.Outputs.Any(o => o.IsFile && o.Name == name) || (kind.HasOpenOutputs && Path.GetFullPath(path).StartsWith(work, StringComparison.Ordinal))))
            {
                outputs[name] = (await cache.PutFileAsync(Area, path, ct)).Key;
            }
        }
        return outputs.ToJsonString();
    }

    /// <summary>
    /// Whether stored outputs name their files by store key only, so any server can read them. A step-cache entry
    /// written before files went to the store names one machine's paths and must not be reused.
    /// </summary>
    public static bool AreShared(StepKind kind, string stored)
    {
        foreach (var (name, text) in Strings(Storage.ExecutionStore.ParseObject(stored)))
        {
            var isFile = kind.Outputs.Any(o => o.IsFile && o.Name == name);
            var isKey = ContentKey.TryParse(text, out var key) && key.Area == Area;
            if ((isFile && !isKey) || (kind.HasOpenOutputs && !isKey && Path.IsPathRooted(text)))
                return false;
        }
        return true;
    }

    /// <summary>The outputs as a step reads them: every stored file and folder as a path on this machine.</summary>
    public async Task<JsonObject> ResolveAsync(StepKind kind, JsonObject outputs, CancellationToken ct)
    {
        foreach (var (name, text) in Strings(outputs))
        {
            var isFile = kind.Outputs.Any(o => o.IsFile && o.Name == name);
            if ((isFile || kind.HasOpenOutputs) && ContentKey.TryParse(text, out var key) && key.Area == Area)
            {
                outputs[name] = await cache.GetLocalPathAsync(key, ct);
            }
            else if (kind.HasOpenOutputs && name == FolderOutput && IsFolderKey(text))
            {
                outputs[name] = await GetFolderAsync(text, ct);
            }
            else if (isFile && !Path.IsPathFullyQualified(text))
            {
                outputs[name] = Path.GetFullPath(Path.Combine(DataDirectory, text));
            }
        }
        return outputs;
    }

    // A fresh run segment per attempt: a folder put again is never mistaken for the copy this machine has.
    private async Task<string> PutFolderAsync(string executionId, string step, string folder, CancellationToken ct)
    {
        var prefix = $"executions/{executionId}/{step}/{Guid.NewGuid():N}/";
        foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            // The command owns its output folder: a link in it could point at any file the server can read.
            if (file.LinkTarget is not null || HasLinkBetween(folder, file))
                continue;
            var relative = Path.GetRelativePath(folder, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            string key;
            try
            {
                key = ArtifactKey.Validate(prefix + relative);
            }
            catch (ArgumentException e)
            {
                throw new StepFailedException($"steps[{step}]: the output file '{relative}' cannot be stored: {e.Message}");
            }
            await using var stream = file.OpenRead();
            await store.PutObjectAsync(key, stream, ct);
        }
        return prefix;
    }

    private async Task<string> GetFolderAsync(string prefix, CancellationToken ct)
    {
        var local = Path.Combine(cache.Root, "folders", prefix.TrimEnd('/'));
        if (Directory.Exists(local))
            return local;
        var temporary = $"{local}.{Guid.NewGuid():N}.tmp";
        try
        {
            Directory.CreateDirectory(temporary);
            await foreach (var stored in store.ListObjectsAsync(prefix, ct))
            {
                var path = Path.Combine(temporary, stored.Key[prefix.Length..]);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await using var source = await store.OpenObjectAsync(stored.Key, ct);
                await using var target = File.Create(path);
                await source.CopyToAsync(target, ct);
            }
            try
            {
                Directory.Move(temporary, local);
            }
            catch (IOException) when (Directory.Exists(local))
            {
                // Another step fetched the same folder first.
            }
            return local;
        }
        finally
        {
            if (Directory.Exists(temporary))
                Directory.Delete(temporary, recursive: true);
        }
    }

    private static bool IsFolderKey(string text) =>
        text.StartsWith("executions/", StringComparison.Ordinal) && text.EndsWith('/') && IsValidPrefix(text);

    private static bool IsValidPrefix(string text)
    {
        try
        {
            ArtifactKey.ValidatePrefix(text);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool HasLinkBetween(string root, FileInfo file)
    {
        for (var folder = file.Directory; folder is not null && folder.FullName.Length > root.Length; folder = folder.Parent)
        {
            if (folder.LinkTarget is not null)
                return true;
        }
        return false;
    }

    private static List<(string Name, string Text)> Strings(JsonObject outputs) =>
        [.. outputs
            .Where(kv => kv.Value is JsonValue v && v.TryGetValue<string>(out var text) && text.Length is > 0 and < 4096)
            .Select(kv => (kv.Key, kv.Value!.GetValue<string>()))];
}
