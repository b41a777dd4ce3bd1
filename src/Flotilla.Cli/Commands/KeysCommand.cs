using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla keys create|list|revoke</c> (needs an admin key).</summary>
internal sealed class KeysCommand : Command
{
    public KeysCommand() : base("keys", "Create, list and revoke API keys (admin).")
    {
        Subcommands.Add(new KeysCreateCommand());
        Subcommands.Add(new KeysListCommand());
        Subcommands.Add(new KeysRevokeCommand());
    }
}

/// <summary><c>flotilla keys create NAME --role ROLE [--role ROLE] [--group GROUP] [--expires TIME]</c>.</summary>
internal sealed class KeysCreateCommand : ClientCommand
{
    private static readonly Argument<string> NameArgument = new("NAME") { Description = "Whose key it is, e.g. ci-deployer." };
    private static readonly Option<string[]> RoleOption = new("--role")
    {
        Description = "A role: viewer, invoker, operator, approver or admin (repeat for several).",
        Required = true,
        AllowMultipleArgumentsPerToken = false,
    };
    private static readonly Option<string[]> GroupOption = new("--group") { Description = "Limit invocations to this model group (repeat for several)." };
    private static readonly Option<DateTimeOffset?> ExpiresOption = new("--expires") { Description = "When the key stops working (ISO 8601).", HelpName = "TIME" };

    public KeysCreateCommand() : base("create", "Create an API key; its secret is printed once.")
    {
        Arguments.Add(NameArgument);
        Options.Add(RoleOption);
        Options.Add(GroupOption);
        Options.Add(ExpiresOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var groups = parseResult.GetValue(GroupOption) ?? [];
        var created = await client.CreateKeyAsync(new CreateKeyRequest(
            parseResult.GetRequiredValue(NameArgument), parseResult.GetRequiredValue(RoleOption), groups.Length == 0 ? null : groups,
            parseResult.GetValue(ExpiresOption)), cancellationToken);
        if (console.Json)
        {
            console.WriteJson(created);
            return ExitCodes.Success;
        }
        console.Line($"Key {created.Id} '{created.Name}' with roles {string.Join(", ", created.Roles)}.");
        console.Line("Its secret, shown only now (send it as 'Authorization: Bearer …', or set FLOTILLA_TOKEN):");
        console.Line(created.Key);
        return ExitCodes.Success;
    }
}

/// <summary><c>flotilla keys list</c>.</summary>
internal sealed class KeysListCommand : ClientCommand
{
    public KeysListCommand() : base("list", "List API keys (never their secrets).")
    {
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var keys = await client.ListKeysAsync(cancellationToken);
        if (console.Json)
            console.WriteJson(keys);
        else
            console.Table(keys, ("id", k => k.Id), ("name", k => k.Name), ("roles", k => k.Roles), ("groups", k => k.Groups), ("created by", k => k.CreatedBy),
                ("created at", k => k.CreatedAt), ("expires at", k => k.ExpiresAt), ("revoked at", k => k.RevokedAt));
        return ExitCodes.Success;
    }
}

/// <summary><c>flotilla keys revoke ID</c>.</summary>
internal sealed class KeysRevokeCommand : ClientCommand
{
    private static readonly Argument<string> IdArgument = new("ID") { Description = "The key's id (from `flotilla keys list`)." };

    public KeysRevokeCommand() : base("revoke", "Revoke an API key on every server at once.")
    {
        Arguments.Add(IdArgument);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var id = parseResult.GetRequiredValue(IdArgument);
        await client.RevokeKeyAsync(id, cancellationToken);
        console.Line($"Revoked key {id}.");
        return ExitCodes.Success;
    }
}
