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
///   traffic:
///     multimodel-fraud: { routes: { 3: 90, 4: 10 }, stickyHeader: X-Request-Key, shadow: { version: 5, percent: 50 } }
///   canary:
///     multimodel-churn: { steps: [10, 50, 100], bakeSeconds: 300 }
/// </code>
/// </summary>
internal sealed class StackFile
{
    public List<StackDataset> Datasets { get; set; } = [];
    public List<StackRun> Runs { get; set; } = [];
    public StackEndpoint Endpoint { get; set; } = new();
    public StackMonitoring Monitoring { get; set; } = new();

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
        var text = File.ReadAllText(path);
        try
        {
            stack = deserializer.Deserialize<StackFile?>(text) ?? new StackFile();
        }
        catch (YamlException e)
        {
            var key = StackLocations.Read(text).PathAt(e.Start) is { } at ? $", {at}" : "";
            throw new StackException($"{Path.GetFullPath(path)} line {e.Start.Line}, column {e.Start.Column}{key}: {(e.InnerException ?? e).Message}");
        }
        stack.BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        stack.Validate(path);
        stack.Monitoring.Validate(path, StackLocations.Read(text));
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
        foreach (var (group, traffic) in Endpoint.Traffic)
        {
            if (traffic.Routes.Count == 0 && traffic.Shadow is null)
            {
                throw new StackException($"{path}: endpoint.traffic.{group} needs routes (version: weight) or a shadow.");
            }
            if (Endpoint.Pin.ContainsKey(group) || Endpoint.Canary.ContainsKey(group))
            {
                throw new StackException($"{path}: endpoint.traffic.{group}: a group's traffic is declared once — by pin, traffic or canary.");
            }
        }
        foreach (var group in Endpoint.Canary.Keys.Where(g => !Endpoint.Deploy.Contains(g)))
        {
            throw new StackException($"{path}: endpoint.canary.{group}: list the group in endpoint.deploy too; the canary is how its new versions are approved.");
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

    /// <summary>Groups whose calls are split by weight and/or shadowed (the body of PUT /api/endpoint/aliases/{group}).</summary>
    public Dictionary<string, StackTraffic> Traffic { get; set; } = [];

    /// <summary>Groups of <see cref="Deploy"/> whose new pending version is approved as a canary rollout.</summary>
    public Dictionary<string, StackCanary> Canary { get; set; } = [];
}

internal sealed class StackTraffic
{
    /// <summary>Approved version → weight.</summary>
    public Dictionary<int, int> Routes { get; set; } = [];
    public string? StickyHeader { get; set; }
    public StackShadow? Shadow { get; set; }
}

internal sealed class StackShadow
{
    public int Version { get; set; }
    public int Percent { get; set; } = 100;
}

internal sealed class StackCanary
{
    public List<int> Steps { get; set; } = [10, 50, 100];
    public int BakeSeconds { get; set; } = 300;
    public int? MinCalls { get; set; }
}

/// <summary>The stack file is wrong; the message names the file, the entry and the fix.</summary>
internal sealed class StackException(string message) : Exception(message);
