namespace Flotilla.Pipelines.Execution;

/// <summary>Settings of the execution engine.</summary>
public sealed class PipelineOptions
{
    /// <summary>Step work files go under <c>&lt;DataDirectory&gt;/executions/&lt;id&gt;/</c>, uploads under <c>datasets/</c>.</summary>
    public string DataDirectory { get; set; } = Path.Combine(Environment.CurrentDirectory, ".data");

    /// <summary>Executions run at once; more wait in the queue. Each one's steps run in parallel where the DAG allows.</summary>
    public int MaxConcurrentExecutions { get; set; } = 16;

    public string ExecutionsDirectory => Path.Combine(DataDirectory, "executions");

    public string DatasetsDirectory => Path.Combine(DataDirectory, "datasets");
}
