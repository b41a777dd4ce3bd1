using Flotilla.Pipelines.Execution;
using Flotilla.Server.Hosting;
using Flotilla.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Tests;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task One_data_directory_setting_places_the_metadata_the_artifacts_and_the_work_files()
    {
        await using var server = await RunningServer.StartAsync();

        Assert.Equal(server.DataDirectory, server.Services.GetRequiredService<IOptions<StorageOptions>>().Value.DataDirectory);
        Assert.Equal(server.DataDirectory, server.Services.GetRequiredService<IOptions<PipelineOptions>>().Value.DataDirectory);
        Assert.Equal(server.DataDirectory, server.Services.GetRequiredService<IOptions<FlotillaOptions>>().Value.DataDirectory);
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "flotilla.db")));
    }

    [Theory]
    [InlineData("--Flotilla:Shape=Cluster", "Flotilla:PostgresConnectionString")]
    [InlineData("--Flotilla:Shape=Cluster", "Flotilla:S3:Bucket")]
    [InlineData("--Flotilla:Pipelines:MaxConcurrentExecutions=0", "Flotilla:Pipelines:MaxConcurrentExecutions")]
    [InlineData("--Flotilla:Outbox:BatchSize=0", "Flotilla:Outbox:BatchSize")]
    [InlineData("--Flotilla:Fleet:MaxInvocationBytes=1", "Flotilla:Fleet:MaxInvocationBytes")]
    public async Task A_bad_setting_stops_the_start_with_a_message_naming_it(string setting, string named)
    {
        var data = Directory.CreateTempSubdirectory("flotilla-test-").FullName;
        var app = FlotillaServer.Build(["--urls", "http://127.0.0.1:0", $"--Flotilla:DataDirectory={data}", setting]);
        try
        {
            var error = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
            Assert.Contains(named, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task The_cluster_shape_refuses_to_start_when_its_database_does_not_answer_naming_the_setting()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-test-").FullName;
        using var closed = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        closed.Start();
        var port = ((System.Net.IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var app = FlotillaServer.Build([
            "--urls", "http://127.0.0.1:0", $"--Flotilla:DataDirectory={data}", "--Flotilla:Shape=Cluster",
            $"--Flotilla:PostgresConnectionString=Host=127.0.0.1;Port={port};Database=flotilla;Username=u;Password=secret-password",
            "--Flotilla:S3:Bucket=flotilla", "--Flotilla:S3:ServiceUrl=http://127.0.0.1:9"]);
        try
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());
            Assert.Contains("Flotilla:PostgresConnectionString", error.Message, StringComparison.Ordinal);
            Assert.Contains($"port {port}", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-password", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await app.DisposeAsync();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }
}
