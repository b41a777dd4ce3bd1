using System.Net;
using Flotilla.Cli;

namespace Flotilla.Server.Tests.Cli;

public sealed class KeysCliTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Keys_are_created_listed_used_and_revoked_from_the_command_line()
    {
        var created = await CliRunner.RunAsync(server, "keys", "create", "cli-approver", "--role", "approver", "--role", "invoker");
        Assert.True(created.ExitCode == ExitCodes.Success, created.ToString());
        var secret = created.Output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("flk_", StringComparison.Ordinal));

        var listed = await CliRunner.RunAsync(server, "keys", "list");
        var id = listed.Output.Split('\n').Select(l => l.Trim()).Single(l => l.Contains("cli-approver", StringComparison.Ordinal)).Split(' ')[0];
        var asApprover = await CliRunner.RunAsync("keys", "list", "--server", server.BaseAddress.ToString(), "--token", secret);
        var revoked = await CliRunner.RunAsync(server, "keys", "revoke", id);
        var afterRevoke = await CliRunner.RunAsync("registry", "list", "--server", server.BaseAddress.ToString(), "--token", secret);

        Assert.DoesNotContain(secret, listed.Output);
        Assert.Equal(ExitCodes.InvalidInput, asApprover.ExitCode);
        Assert.Contains("lacks role 'admin'", asApprover.Error);
        Assert.True(revoked.ExitCode == ExitCodes.Success, revoked.ToString());
        Assert.Equal(ExitCodes.InvalidInput, afterRevoke.ExitCode);
        Assert.Contains("needs an API key", afterRevoke.Error);
    }

    [Fact]
    public async Task The_audit_command_shows_who_created_a_key()
    {
        await CliRunner.RunAsync(server, "keys", "create", "cli-audited", "--role", "viewer");

        var audit = await CliRunner.RunAsync(server, "audit", "--actor", "bootstrap-admin");

        Assert.True(audit.ExitCode == ExitCodes.Success, audit.ToString());
        Assert.Contains("POST /api/keys", audit.Output);
        Assert.Contains("201", audit.Output);
    }

    [Fact]
    public async Task A_client_command_for_a_server_on_this_machine_finds_the_admin_key_in_its_data_folder()
    {
        var before = Environment.GetEnvironmentVariable("FLOTILLA_DATA");
        Environment.SetEnvironmentVariable("FLOTILLA_DATA", server.DataDirectory);
        try
        {
            // No --token and no FLOTILLA_TOKEN: the loopback server's data folder holds the key.
            var result = await CliRunner.RunAsync("keys", "list", "--server", server.BaseAddress.ToString());

            Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
            Assert.Contains("bootstrap-admin", result.Output);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FLOTILLA_DATA", before);
        }
    }

    [Fact]
    public async Task A_client_command_without_a_key_says_how_to_get_one()
    {
        var result = await CliRunner.RunAsync("registry", "list", "--server", server.BaseAddress.ToString(), "--token", "");

        Assert.Equal(ExitCodes.InvalidInput, result.ExitCode);
        Assert.Contains("admin.key", result.Error);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.CreateClient(null).GetAsync("/api/registry/groups")).StatusCode);
    }
}
