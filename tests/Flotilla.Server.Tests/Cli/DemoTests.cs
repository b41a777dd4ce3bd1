using Flotilla.Cli;

namespace Flotilla.Server.Tests.Cli;

public sealed class DemoTests
{
    [Fact]
    public async Task Demo_quick_trains_approves_deploys_and_invokes_both_example_models()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-demo-test-");
        try
        {
            var result = await CliRunner.RunAsync("demo", "--quick", "--exit", "--data", data.FullName);

            Assert.True(result.ExitCode == ExitCodes.Success, result.ToString());
            foreach (var group in new[] { "multimodel-churn", "multimodel-credit" })
            {
                Assert.Contains($"Approved {group} v1", result.Output);
                Assert.Contains($"Predictions of {group} for 6 new rows", result.Output);
            }
            Assert.Contains("Deployed multimodel-churn, multimodel-credit to the endpoint", result.Output);
            // The link logs the browser in: the admin key rides in the fragment, which a browser never sends.
            var key = Flotilla.Cli.Client.Credentials.ReadKeyFile(data.FullName);
            Assert.NotNull(key);
            Assert.Matches($"Web UI \\(logged in by this link\\): http://127\\.0\\.0\\.1:\\d+/#key={key}", result.Output);
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }
}
