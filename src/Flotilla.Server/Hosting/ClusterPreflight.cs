using Microsoft.Extensions.Options;
using Npgsql;

namespace Flotilla.Server.Hosting;

/// <summary>
/// In the cluster shape, checks before anything else starts (the silo's membership, the migrations) that the
/// shared database answers, so an unreachable one fails the start with the setting's name rather than an Orleans
/// or driver error from deep inside. The message names the host and database, never the password.
/// </summary>
internal sealed class ClusterPreflight(IOptions<FlotillaOptions> options) : IHostedService
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Shape != DeploymentShape.Cluster || string.IsNullOrWhiteSpace(settings.PostgresConnectionString))
            return;
        NpgsqlConnectionStringBuilder target;
        try
        {
            target = new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"Flotilla:PostgresConnectionString is not a PostgreSQL connection string: {e.Message}", e);
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            await using var connection = new NpgsqlConnection(settings.PostgresConnectionString);
            await connection.OpenAsync(deadline.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or System.Net.Sockets.SocketException && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException(
                $"Flotilla:Shape is Cluster but the database of Flotilla:PostgresConnectionString (host {target.Host}, port {target.Port}, database {target.Database}) " +
                $"did not answer within {Timeout.TotalSeconds:0} s: {(e is OperationCanceledException ? "timed out" : e.Message)}. Start it, or correct the setting.", e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
