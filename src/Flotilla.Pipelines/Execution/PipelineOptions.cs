using Flotilla.Storage;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>Settings of the execution engine; the server binds them from "Flotilla:Pipelines".</summary>
public sealed class PipelineOptions
{
    public const string Section = "Flotilla:Pipelines";

    /// <summary>
    /// Step work files go under <c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/</c>, uploads under <c>datasets/</c>.
    /// Left empty, it is the storage's <see cref="StorageOptions.DataDirectory"/>: one data folder for everything.
    /// </summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Executions run at once; more wait in the queue. Each one's steps run in parallel where the DAG allows.</summary>
    public int MaxConcurrentExecutions { get; set; } = 16;

    /// <summary>
    /// Folders a dataset path may be in. Empty (the embedded default): any file the server can read. A cluster
    /// sets it so API users cannot make the server read arbitrary files.
    /// </summary>
    public List<string> DataRoots { get; set; } = [];

    public string ExecutionsDirectory => Path.Combine(DataDirectory, "executions");

    public string DatasetsDirectory => Path.Combine(DataDirectory, "datasets");
}

/// <summary>An empty <see cref="PipelineOptions.DataDirectory"/> means the storage's data folder.</summary>
internal sealed class PipelineDataDirectory(IOptions<StorageOptions> storage) : IPostConfigureOptions<PipelineOptions>
{
    public void PostConfigure(string? name, PipelineOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            options.DataDirectory = storage.Value.DataDirectory;
        }
    }
}

/// <summary>Fails the start with a message naming the setting, rather than the first execution.</summary>
internal sealed class PipelineOptionsValidator : IValidateOptions<PipelineOptions>
{
    public ValidateOptionsResult Validate(string? name, PipelineOptions options)
    {
        List<string> errors = [];
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Flotilla:DataDirectory must name a folder for execution work files.");
        }
        if (options.MaxConcurrentExecutions is < 1 or > 1024)
        {
            errors.Add($"{PipelineOptions.Section}:MaxConcurrentExecutions must be within 1..1024 (was {options.MaxConcurrentExecutions}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
