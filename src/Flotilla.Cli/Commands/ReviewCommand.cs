using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla approve|reject PACKAGE [--comment TEXT]</c>: one class for both verbs because they differ
/// only in the status they set. Approving makes the deployer publish the version to the endpoint.
/// </summary>
internal sealed class ReviewCommand : ClientCommand
{
    private static readonly Argument<string> PackageArgument = new("PACKAGE") { Description = "Package id, GROUP (latest version) or GROUP:VERSION." };
    private static readonly Option<string?> CommentOption = new("--comment", "-m") { Description = "Why; stored as the version's description." };

    private readonly string _status;

    private ReviewCommand(string name, string status, string description) : base(name, description)
    {
        _status = status;
        Arguments.Add(PackageArgument);
        Options.Add(CommentOption);
    }

    public static ReviewCommand Approve() => new("approve", "Approved", "Approve a model version; the endpoint then serves it for its group.");

    public static ReviewCommand Reject() => new("reject", "Rejected", "Reject a model version; a deployed version is withdrawn.");

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var package = await PackageReference.ResolveAsync(client, parseResult.GetRequiredValue(PackageArgument), cancellationToken);
        var updated = await SetStatusAsync(client, PackageReference.Id(package), _status, parseResult.GetValue(CommentOption), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(updated);
        }
        else
        {
            var group = CliConsole.Text(package["group"] ?? package["groupName"]);
            console.Line($"{group} v{CliConsole.Text(package["version"])} (package {PackageReference.Id(package)}) is now {_status}.");
        }
        return ExitCodes.Success;
    }

    public static Task<JsonNode> SetStatusAsync(FlotillaClient client, string packageId, string status, string? comment, CancellationToken cancellationToken)
    {
        var body = new JsonObject { ["approvalStatus"] = status };
        if (comment is not null)
        {
            body["description"] = comment;
        }
        return client.PatchJsonAsync($"/api/registry/packages/{Uri.EscapeDataString(packageId)}", body, cancellationToken);
    }
}
