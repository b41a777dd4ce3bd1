namespace Flotilla.Pipelines.Execution;

/// <summary>Settings of the execution engine.</summary>
public sealed class PipelineOptions
{
    /// <summary>Step work files go under <c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/</c>, uploads under <c>datasets/</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(Environment.CurrentDirectory, ".data");

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
