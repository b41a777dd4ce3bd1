using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Cluster.Tests.Harness;
using static Flotilla.Cluster.Tests.Pipelines.PipelineCluster;

namespace Flotilla.Cluster.Tests.Pipelines;

/// <summary>What one machine stored, another runs and reuses: datasets and step files live in the bucket, not on a disk.</summary>
[Collection(PipelineClusterCollection.Name)]
public sealed class NoSharedDiskTests(PipelineCluster cluster)
{
    [ClusterFact]
    public async Task A_dataset_uploaded_to_one_machine_runs_on_another()
    {
        await cluster.ReadyAsync();
        await cluster.UploadAsync(0, "bc-upload");

        // Server C never saw the upload: its disk is its own, and the file is only in the bucket.
        var execution = await cluster.RunAsync(2, Quick("bc-upload"));

        Assert.True(execution["status"]!.GetValue<string>() == "Succeeded", execution.ToJsonString());
        var preprocess = Step(execution, "Preprocess");
        Assert.Null(preprocess["cachedFrom"]);
        Assert.Matches("^files/[0-9a-f]{64}/train.csv$", preprocess["outputs"]!["train"]!.GetValue<string>());
        using var client = cluster.Harness.Client(1);
        var dataset = (await client.GetFromJsonAsync<JsonObject>("/api/datasets/bc-upload"))!;
        Assert.Equal(preprocess["outputs"]!["datasetSha256"]!.GetValue<string>(), dataset["sha256"]!.GetValue<string>());
    }

    [ClusterFact]
    public async Task A_step_cached_on_one_machine_is_valid_on_another()
    {
        await cluster.ReadyAsync();
        await cluster.UploadAsync(0, "bc-cache");
        var first = await cluster.RunAsync(0, Quick("bc-cache"));

        // Same parameters on B: its Preprocess is A's, and every step after it reads A's split files on B.
        var second = await cluster.RunAsync(1, Quick("bc-cache"));

        Assert.True(first["status"]!.GetValue<string>() == "Succeeded", first.ToJsonString());
        Assert.True(second["status"]!.GetValue<string>() == "Succeeded", second.ToJsonString());
        Assert.Equal(first["id"]!.GetValue<string>(), Step(second, "Preprocess")["cachedFrom"]?.GetValue<string>());
        Assert.Equal(Step(first, "Preprocess")["outputs"]!.ToJsonString(), Step(second, "Preprocess")["outputs"]!.ToJsonString());
        Assert.Equal(Best(first), Best(second));
        Assert.Equal(Step(first, "Register")["outputs"]!["artifactSha256"]!.GetValue<string>(), Step(second, "Register")["outputs"]!["artifactSha256"]!.GetValue<string>());
    }
}
