using System.Net;
using System.Net.Sockets;
using Flotilla.Cli;

namespace Flotilla.Server.Tests.Cli;

public sealed class ServerCommandTests
{
    [Fact]
    public async Task The_server_command_serves_the_api_and_the_ui_from_its_data_folder_until_cancelled()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-server-command-");
        var url = $"http://127.0.0.1:{FreePort()}";
        using var stop = new CancellationTokenSource();
        try
        {
            var running = CliRunner.RunAsync(["server", "--data", data.FullName, "--urls", url], stop.Token);
            using var http = new HttpClient { BaseAddress = new Uri(url) };

            var health = await UntilAnsweringAsync(http, running);
            var page = await http.GetStringAsync("/");
            var key = Flotilla.Cli.Client.Credentials.ReadKeyFile(data.FullName)!;
            var listed = await CliRunner.RunAsync("dataset", "list", "--server", url, "--token", key);

            Assert.Equal("ok", health);
            Assert.Contains("""<script type="module" src="/ui/app.js">""", page);
            Assert.Contains("No datasets yet", listed.Output);
            Assert.True(File.Exists(Path.Combine(data.FullName, "flotilla.db")), "the SQLite metadata file is under --data");

            await stop.CancelAsync();
            var result = await running;
            Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static async Task<string> UntilAnsweringAsync(HttpClient http, Task<CliResult> running)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (running.IsCompleted)
            {
                Assert.Fail($"the server command ended early: {await running}");
            }
            try
            {
                return await http.GetStringAsync("/healthz");
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
