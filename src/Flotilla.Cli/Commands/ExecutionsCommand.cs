using System.CommandLine;
using System.Text.Json;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

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
            var rows = await client.ListExecutionsAsync(cancellationToken);
            if (console.Json)
            {
                console.WriteJson(rows);
                return ExitCodes.Success;
            }
            if (rows.Count == 0)
            {
                console.Line("No executions yet; start one with `flotilla run -p DatasetName=NAME --wait`.");
                return ExitCodes.Success;
            }
            console.Table(rows, ("id", e => e.Id), ("pipeline", e => e.Pipeline), ("dataset", e => e.Parameters["DatasetName"]), ("status", e => e.Status),
                ("created at", e => e.CreatedAt), ("ended at", e => e.EndedAt), ("failure reason", e => e.FailureReason));
            return ExitCodes.Success;
        }

        var execution = await client.GetExecutionAsync(id, cancellationToken);
        var trials = await client.ListTrialsAsync(id, cancellationToken);
        if (console.Json)
        {
            // The execution with its trials beside its steps, as one document.
            var document = JsonSerializer.SerializeToNode(execution, FlotillaJson.Default.ExecutionDetail)!.AsObject();
            document["trials"] = JsonSerializer.SerializeToNode(trials, FlotillaJson.Default.IReadOnlyListExecutionTrial);
            console.WriteJson(document);
            return ExitCodes.Success;
        }

        var snapshot = ExecutionSnapshot.From(execution, trials);
        console.Line($"Execution {snapshot.Id}: {snapshot.Status}, {ExecutionProgress.Clock(snapshot.Elapsed(TimeProvider.System.GetUtcNow()))} elapsed");
        console.Table(execution.Steps, ("name", s => s.Name), ("status", s => s.Status), ("attempts", s => s.Attempts), ("started at", s => s.StartedAt),
            ("ended at", s => s.EndedAt), ("failure reason", s => s.FailureReason), ("outputs", s => s.Outputs));
        console.Line($"Tuning: {snapshot.TrialsDone}/{snapshot.TrialsTotal?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"} trials"
            + (snapshot.BestScore is { } best ? $", best {snapshot.Scorer} {best:0.0000}" : ""));
        if (snapshot.Outcome() is { } outcome)
        {
            console.Line($"Outcome: {outcome}");
        }
        return ExitCodes.Success;
    }
}
