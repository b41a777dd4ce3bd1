using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotilla.Server.Tests;

public sealed class LoggingDefaultsTests
{
    [Fact]
    public async Task A_server_started_without_settings_logs_requests_at_warning_and_its_own_events_at_information()
    {
        await using var server = await RunningServer.StartAsync();
        var loggers = server.Services.GetRequiredService<ILoggerFactory>();

        // Off entirely: at any level the host would start an Activity and a log scope for every request.
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Critical));
        Assert.False(loggers.CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Server.Kestrel").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Flotilla.Pipelines.Execution.ExecutionRunner").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Microsoft.Hosting.Lifetime").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task Configuration_overrides_the_shipped_log_levels()
    {
        await using var server = await RunningServer.StartAsync(
            "--Logging:LogLevel:Microsoft.AspNetCore=Information", "--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information",
            "--Logging:LogLevel:Flotilla=Error");
        var loggers = server.Services.GetRequiredService<ILoggerFactory>();

        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Routing.EndpointMiddleware").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
        Assert.False(loggers.CreateLogger("Flotilla.Pipelines.Execution.ExecutionRunner").IsEnabled(LogLevel.Warning));
    }
}
