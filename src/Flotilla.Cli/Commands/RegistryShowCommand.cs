using System.CommandLine;
using System.Globalization;
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
        (string Name, object? Value)[] fields =
        [
            ("id", package.Id), ("group", package.Group), ("version", package.Version), ("approvalStatus", package.ApprovalStatus),
            ("approvalDescription", package.ApprovalDescription), ("statusChangedBy", package.StatusChangedBy),
            ("statusChangedAt", package.StatusChangedAt), ("createdAt", package.CreatedAt), ("artifact", package.Artifact.Sha256),
            ("execution", package.Lineage.ExecutionId), ("datasetHash", package.Lineage.DatasetHash),
        ];
        foreach (var (name, value) in fields.Where(f => f.Value is not null))
        {
            console.Line($"{name,-20} {value switch { DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture), IFormattable f => f.ToString(null, CultureInfo.InvariantCulture), _ => value }}");
        }
        if (FlotillaClient.Evaluation(package) is { } e)
        {
            (string Name, double? Value)[] metrics =
            [
                ("accuracy", e.Accuracy), ("precision", e.Precision), ("recall", e.Recall), ("f1", e.F1), ("auc", e.Auc),
                ("averagePrecision", e.AveragePrecision), ("logLoss", e.LogLoss),
            ];
            console.Line($"{"evaluation",-20} {string.Join(", ", metrics.Where(m => m.Value is not null).Select(m => $"{m.Name} {Number(m.Value!.Value)}"))}");
            if (e.ConfusionMatrix is { } confusion)
            {
                console.Line($"{"confusion matrix",-20} TP {confusion.TruePositives}, FP {confusion.FalsePositives}, TN {confusion.TrueNegatives}, FN {confusion.FalseNegatives} "
                    + $"(positive label {e.PositiveLabel}, {e.Rows} test rows)");
            }
        }
        var failures = await client.ListDeploymentFailuresAsync(package.Group, cancellationToken);
        if (failures.Count > 0)
        {
            console.Line("Failed deployments:");
            console.Table(failures, ("at", f => f.At), ("version", f => f.Version), ("package id", f => f.PackageId), ("reason", f => f.Reason), ("error", f => f.Error));
        }
        return ExitCodes.Success;
    }

    private static string Number(double value) => value.ToString("0.####", CultureInfo.InvariantCulture);
}
