namespace Flotilla.Server.Hosting;

/// <summary>
/// The log levels a server ships with, set in code because <c>flotilla server</c> runs as a .NET tool whose
/// content root is the user's current folder, where no appsettings.json of ours would be found. They are the
/// first configuration source, so appsettings, environment variables (<c>Logging__LogLevel__Default</c>) and
/// the command line still override them: a request log line each is
/// <c>--Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics=Information</c>.
/// </summary>
/// <remarks>
/// ASP.NET Core's per-request Information events cost the one-row invocation route 43 % of its throughput
/// (21.7k against 38.1k req/s, p99 5.2 against 3.8 ms: docs/decisions.md), so only its warnings are kept;
/// Flotilla's own events (executions, deployments, model loads, autoscaling) are rare and stay at Information,
/// as does the host's start-up line that prints the listening address.
/// </remarks>
internal static class LoggingDefaults
{
    private static readonly KeyValuePair<string, string?>[] Levels =
    [
        new("Logging:LogLevel:Default", "Warning"),
        new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
        // Any level at all for this category makes the host start an Activity and a log scope for every request
        // (for log correlation), whatever the level of what is logged; its events are per-request Information and
        // Debug lines, and start-up failures reach the caller of StartAsync anyway.
        new("Logging:LogLevel:Microsoft.AspNetCore.Hosting.Diagnostics", "None"),
        new("Logging:LogLevel:Microsoft.Hosting.Lifetime", "Information"),
        new("Logging:LogLevel:Flotilla", "Information"),
    ];

    public static WebApplicationBuilder AddLoggingDefaults(this WebApplicationBuilder builder)
    {
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = Levels });
        return builder;
    }
}
