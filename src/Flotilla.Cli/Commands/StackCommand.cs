using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Stacks;
using Flotilla.Cli.Terminal;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla plan|apply|destroy -f stack.yaml</c>: one class for the three verbs because they share the
/// stack file and the plan; they differ in which plan they compute and whether they carry it out.
/// </summary>
internal sealed class StackCommand : ClientCommand
{
    private static readonly Option<FileInfo> FileOption = new("--file", "-f") { Description = "The stack file (datasets, runs, endpoint, monitoring).", Required = true, HelpName = "stack.yaml" };

    private readonly bool _destroy;
    private readonly bool _execute;

    private StackCommand(string name, string description, bool destroy, bool execute) : base(name, description)
    {
        _destroy = destroy;
        _execute = execute;
        Options.Add(FileOption);
    }

    public static StackCommand Plan() => new("plan", "Show what apply would change on the server to match a stack file.", destroy: false, execute: false);

    public static StackCommand Apply() => new("apply", "Make the server match a stack file: add datasets, run pipelines, deploy or pin groups.", destroy: false, execute: true);

    public static StackCommand Destroy() => new("destroy", "Remove what a stack file declares: withdraw deployments, stop runs, delete datasets.", destroy: true, execute: true);

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        StackFile stack;
        try
        {
            stack = StackFile.Load(parseResult.GetRequiredValue(FileOption).FullName);
        }
        catch (StackException e)
        {
            throw new CliInputException(e.Message);
        }
        var planner = new StackPlan(client, console);
        var monitoring = new StackMonitoringPlan(client);
        // Capture is set last (a run of the stack may register the group) and returned to the default first.
        IReadOnlyList<StackChange> changes = _destroy
            ? [.. await monitoring.ForDestroyAsync(stack.Monitoring, cancellationToken), .. await planner.ForDestroyAsync(stack, cancellationToken)]
            : [.. await planner.ForApplyAsync(stack, cancellationToken), .. await monitoring.ForApplyAsync(stack.Monitoring, cancellationToken)];
        var conflicts = changes.Where(c => c.Symbol == '!').ToList();

        if (changes.Count == 0)
        {
            console.Line("No changes: the server matches the stack.");
            return ExitCodes.Success;
        }
        foreach (var change in changes)
        {
            console.Line($"{change.Symbol} {change.Kind} {change.Name}: {change.Detail}");
        }
        if (conflicts.Count > 0)
        {
            console.Fail($"{conflicts.Count} conflict(s) above cannot be applied; change the stack or run destroy first.");
            return ExitCodes.InvalidInput;
        }
        if (!_execute)
        {
            console.Line($"Plan: {changes.Count(c => c.Symbol != '=')} change(s). Run `flotilla apply -f {parseResult.GetRequiredValue(FileOption).Name}` to make them.");
            return ExitCodes.Success;
        }

        foreach (var change in changes)
        {
            try
            {
                await change.ApplyAsync(cancellationToken);
            }
            catch (StackException e)
            {
                throw new CliInputException($"{change.Kind} {change.Name}: {e.Message}");
            }
            console.Markup($"[green]done[/] {Markup.Escape($"{change.Kind} {change.Name}")}");
        }
        console.Line(_destroy ? "Destroyed." : "Applied.");
        return ExitCodes.Success;
    }
}
