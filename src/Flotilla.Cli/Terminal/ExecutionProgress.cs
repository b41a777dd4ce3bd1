using System.Globalization;
using Flotilla.Cli.Client;
using Flotilla.Contracts;
using Spectre.Console;

namespace Flotilla.Cli.Terminal;

/// <summary>
/// Follows one or more executions until they finish: each step's status, trials done/total with the best
/// score so far, elapsed time and the outcome. A live table on a terminal; one line per change otherwise
/// (logs and tests read those). Reads the execution resource when its event stream says it changed
/// (<see cref="ExecutionChanges"/>), polling twice a second only while a stream is down.
/// </summary>
internal sealed class ExecutionProgress(FlotillaClient client, CliConsole console, TimeProvider time)
{
    public async Task<IReadOnlyList<ExecutionSnapshot>> WatchAsync(IReadOnlyList<(string Label, string Id)> executions, CancellationToken cancellationToken)
    {
        var latest = new ExecutionSnapshot?[executions.Count];
        await using var changes = new ExecutionChanges(client, executions.Select(e => e.Id), time);
        if (console.Interactive)
        {
            await console.Ansi.Live(new Table()).AutoClear(false).StartAsync(async live =>
            {
                while (!await PollAsync(executions, latest, cancellationToken))
                {
                    live.UpdateTarget(Render(executions, latest));
                    await changes.WaitAsync(cancellationToken);
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
                await changes.WaitAsync(cancellationToken);
            }
        }

        if (!console.Json)
        {
            for (var i = 0; i < executions.Count; i++)
            {
                var snapshot = latest[i]!;
                var colour = snapshot.Succeeded ? "green" : "red";
                console.Markup($"[{colour}]{Markup.Escape(executions[i].Label)}[/]: {Markup.Escape(snapshot.Outcome() ?? snapshot.Status.ToString())} in {Clock(snapshot.Elapsed(time.GetUtcNow()))}");
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
            var id = executions[i].Id;
            latest[i] = ExecutionSnapshot.From(await client.GetExecutionAsync(id, cancellationToken), await client.ListTrialsAsync(id, cancellationToken));
        }
        return latest.All(s => s!.IsFinished);
    }

    /// <summary>One row per step (the execution's name on its first), then the outcome once it is known.</summary>
    private Table Render(IReadOnlyList<(string Label, string Id)> executions, ExecutionSnapshot?[] latest)
    {
        var now = time.GetUtcNow();
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumn("execution").AddColumn("step").AddColumn("status").AddColumn("progress").AddColumn(new TableColumn("elapsed").RightAligned());
        for (var i = 0; i < executions.Count; i++)
        {
            if (latest[i] is not { } s)
            {
                continue;
            }
            if (i > 0)
            {
                table.AddEmptyRow();
            }
            var first = true;
            foreach (var step in s.Steps)
            {
                var elapsed = step.StartedAt is { } started ? Clock((step.EndedAt ?? now) - started) : "";
                table.AddRow(
                    first ? $"[bold]{Markup.Escape(executions[i].Label)}[/]" : "",
                    Markup.Escape(step.Name),
                    $"{Glyph(step.Status)} {step.Status}",
                    IsTune(step) && step.Status is not (StepStatus.Pending or StepStatus.Skipped) ? Markup.Escape(Tuning(s)) : "",
                    elapsed);
                first = false;
            }
            var outcome = s.Outcome() is { } o ? $"[{(s.Succeeded ? "green" : "red")}]{Markup.Escape(o)}[/]" : s.Status.ToString();
            table.AddRow(first ? Markup.Escape(executions[i].Label) : "", "[dim]outcome[/]", "", outcome, Clock(s.Elapsed(now)));
        }
        return table;
    }

    /// <summary>"Executing | Preprocess done · Tune running (trials 12/60 best roc_auc 0.9731)" (no time, so unchanged lines are not repeated).</summary>
    public static string Summarize(ExecutionSnapshot s)
    {
        // Steps that have not started (or never will) add nothing to a log line.
        var steps = string.Join(" · ", s.Steps.Where(step => step.Status is not (StepStatus.Pending or StepStatus.Skipped)).Select(step =>
            $"{step.Name} {PlainGlyph(step.Status)}" + (IsTune(step) ? $" ({Tuning(s)})" : "")));
        return $"{s.Status}" + (steps.Length > 0 ? $" | {steps}" : "") + (s.Outcome() is { } outcome ? $" | {outcome}" : "");
    }

    private static string Tuning(ExecutionSnapshot s) =>
        $"trials {s.TrialsDone}/{s.TrialsTotal?.ToString(CultureInfo.InvariantCulture) ?? "?"}" + (s.BestScore is { } best ? $" best {s.Scorer} {best.ToString("0.0000", CultureInfo.InvariantCulture)}" : "");

    private static bool IsTune(ExecutionStep step) => step.Type == "Tune";

    private static string Glyph(StepStatus status) => status switch
    {
        StepStatus.Succeeded => "[green]✓[/]",
        StepStatus.Failed => "[red]✗[/]",
        StepStatus.Executing => "[yellow]●[/]",
        StepStatus.Stopped => "[grey]■[/]",
        StepStatus.Skipped => "[grey]–[/]",
        _ => "[grey]○[/]",
    };

    private static string PlainGlyph(StepStatus status) => status switch
    {
        StepStatus.Succeeded => "done",
        StepStatus.Failed => "FAILED",
        StepStatus.Executing => "running",
        StepStatus.Stopped => "stopped",
        StepStatus.Skipped => "skipped",
        _ => "waiting",
    };

    public static string Clock(TimeSpan elapsed) =>
        elapsed.TotalHours >= 1 ? elapsed.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : elapsed.ToString(@"mm\:ss", CultureInfo.InvariantCulture);
}
