using System.Text;
using Flotilla.Testing;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Observability;
using Flotilla.Learning.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

public sealed class ModelGrainTests
{
    private static readonly InvocationRequest CsvRow = new(TinyModels.Row, PayloadFormat.Csv, PayloadFormat.Csv);

    [Fact]
    public async Task A_model_loads_on_its_first_call_then_serves_csv_and_json_rows_from_memory()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var sha = await fleet.StoreAsync(TinyModels.Artifact(1));
        var model = fleet.Model(sha);

        var csv = await model.InvokeAsync(new InvocationRequest("7.5,6.0,red\n0.5,1.0,blue", PayloadFormat.Csv, PayloadFormat.Csv));
        var json = await model.InvokeAsync(new InvocationRequest(
            """[{"width": 0.5, "height": 1.0, "color": "blue"}]""", PayloadFormat.Json, PayloadFormat.Json));

        Assert.Equal(InvocationOutcome.Scored, csv.Outcome);
        var lines = Encoding.UTF8.GetString(csv.Body).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("big,", lines[0]);
        Assert.StartsWith("small,", lines[1]);
        Assert.Equal(InvocationOutcome.Scored, json.Outcome);
        Assert.Contains("\"label\":\"small\"", Encoding.UTF8.GetString(json.Body));
        var stats = fleet.Silo(0).GetRequiredService<FleetMetrics>().For(sha).Snapshot(sha);
        Assert.Equal((1, 1, 1), (stats.Misses, stats.Hits, stats.Loads));
    }

    [Fact]
    public async Task A_bad_row_is_reported_with_its_row_and_column()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var sha = await fleet.StoreAsync(TinyModels.Artifact(1));

        var result = await fleet.Model(sha).InvokeAsync(
            new InvocationRequest("7.5,6.0,red\n1.0,tall,red", PayloadFormat.Csv, PayloadFormat.Json));

        Assert.Equal(InvocationOutcome.InvalidInput, result.Outcome);
        Assert.Contains("2", result.Error);
        Assert.Contains("height", result.Error);
    }

    [Fact]
    public async Task An_artifact_whose_bytes_do_not_match_its_hash_is_refused()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var sha = await fleet.StoreAsync(TinyModels.Artifact(1));
        await StoredArtifacts.ReplaceAsync(fleet.DataDirectory, sha, TinyModels.Artifact(2));

        var result = await fleet.Model(sha).InvokeAsync(CsvRow);

        Assert.Equal(InvocationOutcome.Unavailable, result.Outcome);
        Assert.Contains(sha, result.Error);
        Assert.Contains("SHA-256", result.Error);
        Assert.Equal(0, fleet.Silo(0).GetRequiredService<ModelBudget>().Count);
    }

    [Fact]
    public async Task A_model_larger_than_the_whole_budget_is_refused_with_the_reason()
    {
        await using var fleet = await FleetCluster.StartAsync(budgetBytes: 64);
        var sha = await fleet.StoreAsync(TinyModels.Artifact(1));

        var state = await fleet.Model(sha).WarmAsync();

        Assert.False(state.Loaded);
        Assert.Equal(InvocationOutcome.Unavailable, state.Outcome);
        Assert.Contains("memory budget", state.Error);
        Assert.Contains("MemoryBudgetBytes", state.Error);
    }

    [Fact]
    public async Task An_artifact_that_was_never_stored_is_an_unknown_model()
    {
        await using var fleet = await FleetCluster.StartAsync();
        var missing = new string('a', 64);

        var result = await fleet.Model(missing).InvokeAsync(CsvRow);

        Assert.Equal(InvocationOutcome.UnknownModel, result.Outcome);
        Assert.Contains(missing, result.Error);
    }

    [Fact]
    public async Task Loading_past_the_budget_evicts_the_least_recently_used_model_and_reloads_it_on_demand()
    {
        var size = ModelArtifact.Load(TinyModels.Artifact(1), ModelArtifact.Sha256(TinyModels.Artifact(1))).ApproximateBytes;
        await using var fleet = await FleetCluster.StartAsync(budgetBytes: size * 5 / 2);
        var a = await fleet.StoreAsync(TinyModels.Artifact(1));
        var b = await fleet.StoreAsync(TinyModels.Artifact(2));
        var c = await fleet.StoreAsync(TinyModels.Artifact(3));
        var budget = fleet.Silo(0).GetRequiredService<ModelBudget>();
        var metrics = fleet.Silo(0).GetRequiredService<FleetMetrics>();

        foreach (var sha in new[] { a, b, a, c })
        {
            Assert.Equal(InvocationOutcome.Scored, (await fleet.Model(sha).InvokeAsync(CsvRow)).Outcome);
        }

        Assert.Equal([c, a], budget.Snapshot().Select(m => m.ArtifactSha256));
        Assert.InRange(budget.BytesInUse, 0, budget.CapacityBytes);
        await FleetCluster.EventuallyAsync(() => Task.FromResult(metrics.For(b).Snapshot(b).Evictions == 1), "model b's activation is gone");

        Assert.Equal(InvocationOutcome.Scored, (await fleet.Model(b).InvokeAsync(CsvRow)).Outcome);
        Assert.Equal([b, c], budget.Snapshot().Select(m => m.ArtifactSha256));
        Assert.Equal(2, metrics.For(b).Snapshot(b).Loads);
    }
}
