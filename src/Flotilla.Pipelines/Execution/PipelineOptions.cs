namespace Flotilla.Pipelines.Execution;

/// <summary>Settings of the execution engine.</summary>
public sealed class PipelineOptions
{
    public const string AllowProcessStepsSetting = "Flotilla:Pipelines:AllowProcessSteps";

    /// <summary>Step work files go under <c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/</c>, uploads under <c>datasets/</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(Environment.CurrentDirectory, ".data");

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

    public string ExecutionsDirectory => Path.Combine(DataDirectory, "executions");

    public string DatasetsDirectory => Path.Combine(DataDirectory, "datasets");

    /// <summary>The default data root: drop a CSV here to register it by path.</summary>
    public string ImportsDirectory => Path.Combine(DataDirectory, "imports");

    public IReadOnlyList<string> EffectiveDataRoots => DataRoots.Count > 0 ? DataRoots : [ImportsDirectory];
}
