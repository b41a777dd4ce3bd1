using System.Globalization;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Spectre.Console;

namespace Flotilla.Cli.Terminal;

/// <summary>
/// Follows one or more executions until they finish: each step's status, trials done/total with the best
/// score so far, elapsed time and the outcome. A live table on a terminal; one line per change otherwise
/// (logs and tests read those). Polls the execution resource twice a second, which works through any proxy.
/// </summary>
internal sealed class ExecutionProgress(FlotillaClient client, CliConsole console, TimeProvider time)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public async Task<IReadOnlyList<ExecutionSnapshot>> WatchAsync(IReadOnlyList<(string Label, string Id)> executions, CancellationToken cancellationToken)
    {
        var latest = new ExecutionSnapshot?[executions.Count];
        if (console.Interactive)
        {
            await console.Ansi.Live(new Table()).AutoClear(false).StartAsync(async live =>
            {
                while (!await PollAsync(executions, latest, cancellationToken))
                {
                    live.UpdateTarget(Render(executions, latest));
                    await Task.Delay(PollInterval, time, cancellationToken);
                }
                live.UpdateTarget(Render(executions, latest));
            });
        }
        else
        {
            var printed = new string?[executions.Count];
            while (true)
            {
                var done = await PollAsync(executions, latest, cancellationToken);
                for (var i = 0; i < executions.Count; i++)
                {
                    var line = Summarize(latest[i]!);
                    if (line != printed[i] && !console.Json)
                    {
                        printed[i] = line;
                        console.Line($"[{Clock(latest[i]!.Elapsed(time.GetUtcNow()))}] {executions[i].Label}: {line}");
                    }
                }
                if (done)
                {
                    break;
                }
                await Task.Delay(PollInterval, time, cancellationToken);
            }
        }

        if (!console.Json)
        {
            for (var i = 0; i < executions.Count; i++)
            {
                var snapshot = latest[i]!;
                var colour = snapshot.Succeeded ? "green" : "red";
                console.Markup($"[{colour}]{Markup.Escape(executions[i].Label)}[/]: {Markup.Escape(snapshot.Outcome() ?? snapshot.Status)} in {Clock(snapshot.Elapsed(time.GetUtcNow()))}");
            }
        }
        return latest.Select(s => s!).ToList();
    }

    private async Task<bool> PollAsync(IReadOnlyList<(string Label, string Id)> executions, ExecutionSnapshot?[] latest, CancellationToken cancellationToken)
    {
        for (var i = 0; i < executions.Count; i++)
        {
            if (latest[i] is { IsFinished: true })
            {
                continue;
            }
            var id = Uri.EscapeDataString(executions[i].Id);
            var execution = (JsonObject)await client.GetAsync($"/api/executions/{id}", cancellationToken);
            var trials = await client.GetAsync($"/api/executions/{id}/trials", cancellationToken);
            latest[i] = ExecutionSnapshot.From(execution, trials);
        }
        return latest.All(s => s!.IsFinished);
    }

    private Table Render(IReadOnlyList<(string Label, string Id)> executions, ExecutionSnapshot?[] latest)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("execution").AddColumn("steps").AddColumn("tuning").AddColumn("elapsed").AddColumn("outcome");
        for (var i = 0; i < executions.Count; i++)
        {
            if (latest[i] is not { } s)
            {
                continue;
            }
            var steps = string.Join(" ", s.Steps.Select(step => $"{Glyph(step.Status)} {Markup.Escape(step.Name)}"));
            var outcome = s.Outcome() is { } o ? $"[{(s.Succeeded ? "green" : "red")}]{Markup.Escape(o)}[/]" : Markup.Escape(s.Status);
            table.AddRow(Markup.Escape(executions[i].Label), steps, Markup.Escape(Tuning(s)), Clock(s.Elapsed(time.GetUtcNow())), outcome);
        }
        return table;
    }

    /// <summary>"Preprocess ✓ · Tune ● 12/60 best roc_auc 0.9731 · Refit …" (plain text, no time, so unchanged lines are not repeated).</summary>
    public static string Summarize(ExecutionSnapshot s)
    {
        var steps = string.Join(" · ", s.Steps.Select(step =>
            $"{step.Name} {PlainGlyph(step.Status)}" + (IsTune(step.Name) && step.Status is not "Pending" ? " " + Tuning(s) : "")));
        return $"{s.Status} | {steps}" + (s.Outcome() is { } outcome ? $" | {outcome}" : "");
    }

    private static string Tuning(ExecutionSnapshot s) =>
        $"trials {s.TrialsDone}/{s.TrialsTotal}" + (s.BestScore is { } best ? $" best {s.Scorer} {best.ToString("0.0000", CultureInfo.InvariantCulture)}" : "");

    private static bool IsTune(string step) => step.Contains("Tun", StringComparison.OrdinalIgnoreCase);

    private static string Glyph(string status) => status switch
    {
        "Succeeded" => "[green]✓[/]",
        "Failed" => "[red]✗[/]",
        "Executing" or "Running" => "[yellow]●[/]",
        "Stopped" or "Stopping" => "[grey]■[/]",
        _ => "[grey]○[/]",
    };

    private static string PlainGlyph(string status) => status switch
    {
        "Succeeded" => "done",
        "Failed" => "FAILED",
        "Executing" or "Running" => "running",
        "Stopped" or "Stopping" => "stopped",
        "Skipped" => "skipped",
        _ => "waiting",
    };

    public static string Clock(TimeSpan elapsed) =>
        elapsed.TotalHours >= 1 ? elapsed.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : elapsed.ToString(@"mm\:ss", CultureInfo.InvariantCulture);
}
