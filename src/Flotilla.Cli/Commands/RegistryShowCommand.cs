using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla registry show PACKAGE</c>: one version with its evaluation report's headline numbers, and the
/// group's failed deployments (versions whose model would not load), so a version that never served says why.
/// </summary>
internal sealed class RegistryShowCommand : ClientCommand
{
    private static readonly Argument<string> PackageArgument = new("PACKAGE") { Description = "Package id, GROUP (latest version) or GROUP:VERSION." };

    public RegistryShowCommand() : base("show", "Show one model package: status, lineage and evaluation.")
    {
        Arguments.Add(PackageArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var package = await PackageReference.ResolveAsync(client, parseResult.GetRequiredValue(PackageArgument), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(package);
            return ExitCodes.Success;
        }
        foreach (var (key, value) in package)
        {
            if (value is JsonValue)
            {
                console.Line($"{key,-20} {CliConsole.Text(value)}");
            }
        }
        var evaluation = package["evaluationReport"] as JsonObject ?? package["evaluation"] as JsonObject;
        if (evaluation is not null)
        {
            var metrics = evaluation["metrics"] as JsonObject ?? evaluation;
            var headline = new[] { "accuracy", "precision", "recall", "f1", "auc", "rocAuc", "averagePrecision", "logLoss" }
                .Where(m => metrics[m] is JsonValue)
                .Select(m => $"{m} {CliConsole.Text(metrics[m])}");
            console.Line($"{"evaluation",-20} {string.Join(", ", headline)}");
            if (evaluation["confusionMatrix"] is JsonObject confusion)
            {
                console.Line($"{"confusion matrix",-20} TP {CliConsole.Text(confusion["truePositives"])}, FP {CliConsole.Text(confusion["falsePositives"])}, "
                    + $"TN {CliConsole.Text(confusion["trueNegatives"])}, FN {CliConsole.Text(confusion["falseNegatives"])} "
                    + $"(positive label {CliConsole.Text(evaluation["positiveLabel"])}, {CliConsole.Text(evaluation["rows"])} test rows)");
            }
        }
        if (package["group"] is JsonValue group)
        {
            var failures = await client.GetAsync($"/api/registry/groups/{Uri.EscapeDataString(CliConsole.Text(group))}/deployments/failures", cancellationToken);
            if (failures is JsonArray { Count: > 0 } list)
            {
                console.Line("Failed deployments:");
                console.Table(list, "at", "version", "packageId", "reason", "error");
            }
        }
        return ExitCodes.Success;
    }
}
