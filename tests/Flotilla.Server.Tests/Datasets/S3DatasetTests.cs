using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Storage;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Tests;

namespace Flotilla.Server.Tests.Datasets;

/// <summary>Datasets named by <c>s3://bucket/key</c>, read from an S3-compatible server (s3rver) with the storage's S3 settings.</summary>
public sealed class S3DatasetTests(S3rverServer s3) : IClassFixture<S3rverServer>
{
    [Fact]
    public async Task A_csv_in_an_allowed_bucket_is_registered_by_its_s3_uri_and_kept_in_the_artifact_store()
    {
        var prefix = $"t{Guid.NewGuid():N}/";
        using (var bucket = new S3ArtifactStore(Options(prefix)))
        {
            await bucket.PutObjectAsync("input/bc.csv", await File.ReadAllBytesAsync(SharedDatasets.Path("breast-cancer.csv")), CancellationToken.None);
        }
        await using var server = await StartAsync();

        using var registered = await server.Client.PostAsJsonAsync("/api/datasets",
            new { name = "bc", path = $"s3://{S3rverServer.Bucket}/{prefix}input/bc.csv", target = "CLASS" });
        using var missing = await server.Client.PostAsJsonAsync("/api/datasets",
            new { name = "gone", path = $"s3://{S3rverServer.Bucket}/{prefix}input/none.csv", target = "CLASS" });

        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var dataset = (await registered.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(569, dataset["rowCount"]!.GetValue<long>());
        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", dataset["path"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("could not be read", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_bucket_not_listed_is_never_read_and_the_refusal_names_the_setting()
    {
        await using var server = await StartAsync();

        using var response = await server.Client.PostAsJsonAsync("/api/datasets",
            new { name = "other", path = "s3://someone-elses-bucket/data.csv", target = "y" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Flotilla:Datasets:AllowedS3Buckets", await response.Content.ReadAsStringAsync());
    }

    private S3ArtifactOptions Options(string prefix) => new()
    {
        Bucket = S3rverServer.Bucket, Prefix = prefix, ServiceUrl = s3.ServiceUrl, AccessKey = "S3RVER", SecretKey = "S3RVER",
    };

    // The embedded shape (artifacts in the folder) with the S3 endpoint set for reading datasets only.
    private Task<RunningServer> StartAsync() => RunningServer.StartAsync(
        $"--Flotilla:S3:ServiceUrl={s3.ServiceUrl}", "--Flotilla:S3:AccessKey=S3RVER", "--Flotilla:S3:SecretKey=S3RVER",
        $"--Flotilla:Datasets:AllowedS3Buckets:0={S3rverServer.Bucket}");
}
