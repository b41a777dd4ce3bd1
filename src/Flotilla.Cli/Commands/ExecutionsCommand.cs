using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla executions [ID]</c>: the list, or one execution's steps and tuning summary.</summary>
internal sealed class ExecutionsCommand : ClientCommand
{
    private static readonly Argument<string?> IdArgument = new("ID") { Description = "Show this execution's steps and trials.", Arity = ArgumentArity.ZeroOrOne };

    public ExecutionsCommand() : base("executions", "List pipeline executions, or show one.")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        if (parseResult.GetValue(IdArgument) is not { } id)
        {
            var list = await client.GetAsync("/api/executions", cancellationToken);
            if (console.Json)
            {
                console.WriteJson(list);
                return ExitCodes.Success;
            }
            var rows = list as JsonArray ?? list["executions"] as JsonArray ?? [];
            if (rows.Count == 0)
            {
                console.Line("No executions yet; start one with `flotilla run -p DatasetName=NAME --wait`.");
                return ExitCodes.Success;
            }
            console.Table(rows, "id|executionId", "pipeline", "dataset=parameters.DatasetName", "status", "createdAt", "endedAt", "failureReason");
            return ExitCodes.Success;
        }

        var path = $"/api/executions/{Uri.EscapeDataString(id)}";
        var execution = (JsonObject)await client.GetAsync(path, cancellationToken);
        var trials = await client.GetAsync(path + "/trials", cancellationToken);
        if (console.Json)
        {
            execution["trials"] = trials.DeepClone();
            console.WriteJson(execution);
            return ExitCodes.Success;
        }

        var snapshot = ExecutionSnapshot.From(execution, trials);
        console.Line($"Execution {snapshot.Id}: {snapshot.Status}, {ExecutionProgress.Clock(snapshot.Elapsed(TimeProvider.System.GetUtcNow()))} elapsed");
        console.Table(execution["steps"] as JsonArray ?? [], "name", "status", "attempts", "startedAt", "endedAt", "failureReason", "outputs");
        console.Line($"Tuning: {snapshot.TrialsDone}/{snapshot.TrialsTotal?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} trials"
            + (snapshot.BestScore is { } best ? $", best {snapshot.Scorer} {best:0.0000}" : ""));
        if (snapshot.Outcome() is { } outcome)
        {
            console.Line($"Outcome: {outcome}");
        }
        return ExitCodes.Success;
    }
}
