using System.CommandLine;
using System.Globalization;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla approve … --canary [STEPS] [--steps 10,50,100] [--bake 5m] [--min-calls N]</c>: the rollout an approval
/// carries, and following it live until it ends (served by every call, rolled back or cancelled).
/// </summary>
internal static class CanaryOptions
{
    public static readonly Option<string?> Canary = new("--canary")
    {
        Description = "Roll the version out as a canary through percent steps of the calls (default 10,50,100), rolled back when worse.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static readonly Option<string?> Steps = new("--steps") { Description = "The canary's steps, percent of the calls, rising to 100: 10,50,100." };

    public static readonly Option<string?> Bake = new("--bake") { Description = "How long each step runs at least: seconds, or 90s, 5m, 1h (default 300)." };

    public static readonly Option<int?> MinCalls = new("--min-calls") { Description = "Calls the new version needs at a step before it is compared (default 200)." };

    public static readonly Option<bool> NoFollow = new("--no-follow") { Description = "Return once the canary has started instead of following it to its end." };

    public static IEnumerable<Option> All => [Canary, Steps, Bake, MinCalls, NoFollow];

    /// <summary>The <c>"rollout"</c> of the approval, or null without <c>--canary</c>/<c>--steps</c>; a bad value throws naming the option.</summary>
    public static RolloutRequest? Request(ParseResult parseResult)
    {
        var canary = parseResult.GetResult(Canary) is not null;
        var steps = parseResult.GetValue(Steps) ?? parseResult.GetValue(Canary);
        if (!canary && steps is null)
        {
            return null;
        }
        List<int>? parsed = null;
        if (steps is not null)
        {
            parsed = [];
            foreach (var part in steps.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!int.TryParse(part.TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out var percent))
                {
                    throw new CliInputException($"--steps: '{part}' is not a whole percent; write the steps as 10,50,100.");
                }
                parsed.Add(percent);
            }
        }
        return new RolloutRequest("canary", parsed, parseResult.GetValue(Bake) is { } bake ? Seconds(bake) : null, parseResult.GetValue(MinCalls));
    }

    private static int Seconds(string text)
    {
        var unit = text.Length > 0 && char.IsLetter(text[^1]) ? char.ToLowerInvariant(text[^1]) : 's';
        var number = char.IsLetter(text.Length > 0 ? text[^1] : '0') ? text[..^1] : text;
        var scale = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        return scale > 0 && int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value * scale
            : throw new CliInputException($"--bake: '{text}' is not a duration; write seconds (300) or 90s, 5m, 1h.");
    }

    /// <summary>Prints each change of the group's rollout of <paramref name="version"/> until it ends; exit 0 when it serves every call.</summary>
    public static async Task<int> FollowAsync(FlotillaClient client, CliConsole console, string group, long version, CancellationToken cancellationToken)
    {
        var last = "";
        while (true)
        {
            var rollout = await client.GetRolloutAsync(group, cancellationToken);
            if (rollout.Version == version)
            {
                var detail = rollout.Reason ?? rollout.Comparison?.Summary ?? "";
                var line = $"{group} v{version}: {rollout.State}, step {rollout.StepIndex + 1}/{rollout.Plan.Steps.Count} at {rollout.StepPercent} %{(detail.Length > 0 ? $" — {detail}" : "")}";
                if (line != last)
                {
                    console.Line(line);
                    last = line;
                }
                switch (rollout.State)
                {
                    case RolloutState.Succeeded:
                        return ExitCodes.Success;
                    case RolloutState.RolledBack or RolloutState.Cancelled:
                        return ExitCodes.ExecutionFailed;
                }
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
