using System.CommandLine;
using System.Globalization;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla alias GROUP [--version N | --route V=W …] [--sticky HEADER] [--shadow V[:PERCENT]]</c>: pins a group to
/// one approved version, splits its calls by weight, or adds a shadow (alone, it keeps the alias's routes).
/// </summary>
internal sealed class AliasCommand : ClientCommand
{
    private static readonly Argument<string> GroupArgument = new("GROUP") { Description = "The model package group." };
    private static readonly Option<int?> VersionOption = new("--version") { Description = "Serve every call with this approved version." };
    private static readonly Option<string[]> RouteOption = new("--route") { Description = "VERSION=WEIGHT, once per approved version of a split: --route 3=90 --route 4=10.", AllowMultipleArgumentsPerToken = false };
    private static readonly Option<string?> StickyOption = new("--sticky") { Description = "A header whose value keeps each caller on one version of the split." };
    private static readonly Option<string?> ShadowOption = new("--shadow") { Description = "VERSION[:PERCENT]: a version (approved or pending) scoring a copy of PERCENT % of the calls (default 100)." };

    public AliasCommand() : base("alias", "Pin a group to a version, split its calls across versions by weight, or shadow them with another version.")
    {
        Arguments.Add(GroupArgument);
        Options.Add(VersionOption);
        Options.Add(RouteOption);
        Options.Add(StickyOption);
        Options.Add(ShadowOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var outcome = await client.SetAliasAsync(parseResult.GetRequiredValue(GroupArgument), Request(parseResult), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(outcome);
        }
        else
        {
            console.Line(outcome.Message);
        }
        return ExitCodes.Success;
    }

    /// <summary>The PUT body; a malformed option throws naming it.</summary>
    internal static PinRequest Request(ParseResult parseResult)
    {
        var version = parseResult.GetValue(VersionOption);
        var routes = new List<RouteWeight>();
        foreach (var route in parseResult.GetValue(RouteOption) ?? [])
        {
            var parts = route.Split('=', 2);
            if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var weight))
            {
                throw new CliInputException($"--route '{route}' is not VERSION=WEIGHT; write e.g. --route 3=90 --route 4=10.");
            }
            routes.Add(new RouteWeight(v, weight));
        }
        var sticky = parseResult.GetValue(StickyOption);
        ShadowWeight? shadow = null;
        if (parseResult.GetValue(ShadowOption) is { } text)
        {
            var parts = text.Split(':', 2);
            var percent = 100;
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                || parts.Length == 2 && !int.TryParse(parts[1].TrimEnd('%'), NumberStyles.None, CultureInfo.InvariantCulture, out percent))
            {
                throw new CliInputException($"--shadow '{text}' is not VERSION[:PERCENT]; write e.g. --shadow 5:50.");
            }
            shadow = new ShadowWeight(v, percent);
        }
        if (version is null && routes.Count == 0 && sticky is null && shadow is null)
        {
            throw new CliInputException("Say what the alias should do: --version N, --route V=W (one per version) or --shadow V[:PERCENT].");
        }
        return new PinRequest(version, routes.Count > 0 ? routes : null, sticky, shadow);
    }
}
