using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla approve|reject PACKAGE [VERSION] [--comment TEXT]</c>: one class for both verbs because they differ
/// only in the status they set. Approving makes the deployer publish the version to the endpoint; with
/// <c>--canary</c>, through the rollout's steps, followed live.
/// </summary>
internal sealed class ReviewCommand : ClientCommand
{
    private static readonly Argument<string> PackageArgument = new("PACKAGE") { Description = "Package id, GROUP (latest version) or GROUP:VERSION." };
    private static readonly Argument<int?> VersionArgument = new("VERSION") { Description = "The version, when PACKAGE is a group.", Arity = ArgumentArity.ZeroOrOne };
    private static readonly Option<string?> CommentOption = new("--comment", "-m") { Description = "Why; stored as the version's description." };

    private readonly ApprovalStatus _status;

    private ReviewCommand(string name, ApprovalStatus status, string description, bool canary = false) : base(name, description)
    {
        _status = status;
        Arguments.Add(PackageArgument);
        Arguments.Add(VersionArgument);
        Options.Add(CommentOption);
        if (canary)
        {
            foreach (var option in CanaryOptions.All)
            {
                Options.Add(option);
            }
        }
    }

    public static ReviewCommand Approve() => new("approve", ApprovalStatus.Approved,
        "Approve a model version; the endpoint then serves it for its group (with --canary, step by step, rolled back when worse).", canary: true);

    public static ReviewCommand Reject() => new("reject", ApprovalStatus.Rejected, "Reject a model version; a deployed version is withdrawn.");

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var reference = parseResult.GetRequiredValue(PackageArgument);
        if (parseResult.GetValue(VersionArgument) is { } version)
        {
            reference = $"{reference}:{version}";
        }
        var rollout = _status == ApprovalStatus.Approved ? CanaryOptions.Request(parseResult) : null;
        var package = await PackageReference.ResolveAsync(client, reference, cancellationToken);
        var updated = await client.UpdateApprovalAsync(package.Id, _status, parseResult.GetValue(CommentOption), cancellationToken, rollout);
        if (console.Json)
        {
            console.WriteJson(updated);
        }
        else
        {
            console.Line($"{package.Group} v{package.Version} (package {package.Id}) is now {_status}{(rollout is null ? "" : ", as a canary")}.");
        }
        return rollout is null || parseResult.GetValue(CanaryOptions.NoFollow) || console.Json
            ? ExitCodes.Success
            : await CanaryOptions.FollowAsync(client, console, package.Group, package.Version, cancellationToken);
    }
}
