using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Flotilla.Cli.Stacks;

/// <summary>
/// <c>stack.yaml</c>: what should exist on the server. Paths are relative to the stack file.
/// <code>
/// datasets:
///   - name: churn
///     csv: data/churn.csv
///     target: churned
///     exclude: [customer_id]
/// runs:
///   - pipeline: multimodel
///     parameters: { DatasetName: churn, MaxTuningJobs: 20 }
/// endpoint:
///   deploy: [multimodel-churn]
///   pin: { multimodel-credit: 2 }
/// </code>
/// </summary>
internal sealed class StackFile
{
    public List<StackDataset> Datasets { get; set; } = [];
    public List<StackRun> Runs { get; set; } = [];
    public StackEndpoint Endpoint { get; set; } = new();

    /// <summary>The folder relative paths are resolved against.</summary>
    [YamlIgnore]
    public string BaseDirectory { get; private set; } = "";

    public static StackFile Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new StackException($"Stack file {Path.GetFullPath(path)} does not exist; pass one with -f stack.yaml.");
        }
        var deserializer = new DeserializerBuilder().WithNamingConvention(CamelCaseNamingConvention.Instance).Build();
        StackFile stack;
        try
        {
            stack = deserializer.Deserialize<StackFile?>(File.ReadAllText(path)) ?? new StackFile();
        }
        catch (YamlException e)
        {
            throw new StackException($"{Path.GetFullPath(path)} line {e.Start.Line}, column {e.Start.Column}: {(e.InnerException ?? e).Message}");
        }
        stack.BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        stack.Validate(path);
        return stack;
    }

    private void Validate(string path)
    {
        foreach (var (dataset, index) in Datasets.Select((d, i) => (d, i)))
        {
            if (string.IsNullOrWhiteSpace(dataset.Name) || string.IsNullOrWhiteSpace(dataset.Csv) || string.IsNullOrWhiteSpace(dataset.Target))
            {
                throw new StackException($"{path}: datasets[{index}] needs name, csv and target.");
            }
        }
        foreach (var (run, index) in Runs.Select((r, i) => (r, i)))
        {
            if (!run.Parameters.ContainsKey("DatasetName"))
            {
                throw new StackException($"{path}: runs[{index}] needs parameters.DatasetName.");
            }
        }
    }
}

internal sealed class StackDataset
{
    public string Name { get; set; } = "";
    public string Csv { get; set; } = "";
    public string Target { get; set; } = "";
    public List<string> Exclude { get; set; } = [];
}

internal sealed class StackRun
{
    public string Pipeline { get; set; } = "multimodel";
    public Dictionary<string, string> Parameters { get; set; } = [];
}

internal sealed class StackEndpoint
{
    /// <summary>Groups the endpoint must serve: apply approves each group's latest version.</summary>
    public List<string> Deploy { get; set; } = [];

    /// <summary>Groups held at one approved version by hand (PUT /api/endpoint/aliases/{group}), whatever is approved later.</summary>
    public Dictionary<string, int> Pin { get; set; } = [];
}

/// <summary>The stack file is wrong; the message names the file, the entry and the fix.</summary>
internal sealed class StackException(string message) : Exception(message);
