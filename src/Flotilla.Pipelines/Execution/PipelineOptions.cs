using Flotilla.Pipelines.Steps;
using Flotilla.Storage;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>Settings of the execution engine; the server binds them from "Flotilla:Pipelines".</summary>
public sealed class PipelineOptions
{
    public const string AllowProcessStepsSetting = "Flotilla:Pipelines:AllowProcessSteps";

    public const string Section = "Flotilla:Pipelines";

    /// <summary>
    /// Step work files go under <c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/</c>, uploads under <c>datasets/</c>.
    /// Left empty, it is the storage's <see cref="StorageOptions.DataDirectory"/>: one data folder for everything.
    /// </summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>Executions run at once; more wait in the queue. Each one's steps run in parallel where the DAG allows.</summary>
    public int MaxConcurrentExecutions { get; set; } = 16;

    /// <summary>
    /// Folders a dataset path may be in (symbolic links resolved). Empty: <see cref="ImportsDirectory"/> only,
    /// so an API user can never make the server read its own database, keys or system files.
    /// </summary>
    public List<string> DataRoots { get; set; } = [];

    /// <summary>
    /// Whether pipelines may contain Process steps, which run any command the definition names with the server's
    /// rights. Off by default: a definition is data a network client sends, and must not be a way to run code.
    /// </summary>
    public bool AllowProcessSteps { get; set; }

    /// <summary>
    /// The account Process steps run as (Linux: through <c>setpriv</c>, so the server must be allowed to switch
    /// users). Unset: they run as the server's own account and can read whatever the server can.
    /// </summary>
    public string? ProcessUser { get; set; }

    /// <summary>
    /// How long a server's claim on an execution lasts without renewal, in seconds (renewed every second while it
    /// runs). Servers sharing PostgreSQL adopt an execution whose lease ran out: a dead or stalled owner's work
    /// resumes elsewhere within this plus <see cref="AdoptionScanSeconds"/>.
    /// </summary>
    public double ExecutionLeaseSeconds { get; set; } = 10;

    /// <summary>How often a server looks for executions whose owner's lease ran out, in seconds.</summary>
    public double AdoptionScanSeconds { get; set; } = 2;

    public TimeSpan ExecutionLease => TimeSpan.FromSeconds(ExecutionLeaseSeconds);

    public TimeSpan AdoptionScanInterval => TimeSpan.FromSeconds(AdoptionScanSeconds);

    public string ExecutionsDirectory => Path.Combine(DataDirectory, "executions");

    public string DatasetsDirectory => Path.Combine(DataDirectory, "datasets");

    /// <summary>The default data root: drop a CSV here to register it by path.</summary>
    public string ImportsDirectory => Path.Combine(DataDirectory, "imports");

    public IReadOnlyList<string> EffectiveDataRoots => DataRoots.Count > 0 ? DataRoots : [ImportsDirectory];
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
        if (options.ExecutionLeaseSeconds is < 3 or > 3600)
        {
            errors.Add($"{PipelineOptions.Section}:ExecutionLeaseSeconds must be within 3..3600 (was {options.ExecutionLeaseSeconds}): the lease is renewed every second, and a shorter one would be lost to a slow database.");
        }
        if (options.AdoptionScanSeconds < 0.1 || options.AdoptionScanSeconds > options.ExecutionLeaseSeconds)
        {
            errors.Add($"{PipelineOptions.Section}:AdoptionScanSeconds must be within 0.1..ExecutionLeaseSeconds ({options.ExecutionLeaseSeconds}) (was {options.AdoptionScanSeconds}).");
        }
        if (!string.IsNullOrWhiteSpace(options.ProcessUser) && !ProcessAccount.Exists(options.ProcessUser))
        {
            errors.Add($"{PipelineOptions.Section}:ProcessUser names an account this machine does not have (or this is not Linux, where it works through setpriv); create the account or unset the setting.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
