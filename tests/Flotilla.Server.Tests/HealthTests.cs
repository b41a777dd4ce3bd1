namespace Flotilla.Server.Tests;

public sealed class HealthTests(RunningServer server) : IClassFixture<RunningServer>
{
    [Fact]
    public async Task Healthz_answers_ok_over_http_on_loopback()
    {
        var body = await server.Client.GetStringAsync("/healthz");
        Assert.Equal("ok", body);
    }
}
