using System.Net;
using System.Net.Http.Json;
using Flotilla.Testing;

namespace Flotilla.Server.Tests.Security;

public sealed class BootstrapTests
{
    [Fact]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public async Task The_first_start_writes_an_admin_key_readable_by_the_owner_only_and_a_restart_keeps_it()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-bootstrap-").FullName;
        try
        {
            string key;
            await using (var first = await RunningServer.StartAsync($"--Flotilla:DataDirectory={data}"))
            {
                key = first.AdminKey;
                Assert.Equal(HttpStatusCode.OK, (await first.Client.GetAsync("/api/keys")).StatusCode);
            }
            var file = Path.Combine(data, "admin.key");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));

            await using var second = await RunningServer.StartAsync($"--Flotilla:DataDirectory={data}");
            var keys = await second.Client.GetFromJsonAsync<List<System.Text.Json.Nodes.JsonObject>>("/api/keys");

            Assert.Equal(key, (await File.ReadAllTextAsync(file)).Trim());
            Assert.Single(keys!);
        }
        finally
        {
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task Of_two_servers_starting_on_one_database_exactly_one_writes_an_admin_key()
    {
        var database = await (await PostgresServer.GetSharedAsync()).CreateDatabaseAsync("bootstrap");
        var a = Directory.CreateTempSubdirectory("flotilla-bootstrap-a-").FullName;
        var b = Directory.CreateTempSubdirectory("flotilla-bootstrap-b-").FullName;
        try
        {
            var starts = new[] { a, b }.Select(d => RunningServer.StartAsync($"--Flotilla:PostgresConnectionString={database}", $"--Flotilla:DataDirectory={d}")).ToList();
            var servers = await Task.WhenAll(starts);
            try
            {
                var written = new[] { a, b }.Count(d => File.Exists(Path.Combine(d, "admin.key")));
                Assert.Equal(1, written);
                var winner = File.Exists(Path.Combine(a, "admin.key")) ? a : b;
                var loser = servers[winner == a ? 1 : 0];
                // The key written by one server works on the other: they share the store.
                using var client = loser.CreateClient((await File.ReadAllTextAsync(Path.Combine(winner, "admin.key"))).Trim());
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/keys")).StatusCode);
            }
            finally
            {
                foreach (var server in servers)
                    await server.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(a, recursive: true);
            Directory.Delete(b, recursive: true);
        }
    }
}
