using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Server.Tests.Datasets;

public sealed class DatasetsApiTests(RunningServer server) : IClassFixture<RunningServer>
{
    private HttpClient Client => server.Client;

    [Fact]
    public async Task A_dataset_registered_by_path_shows_schema_row_count_and_label_balance()
    {
        var path = Imported(server, "breast-cancer.csv");
        using var response = await Client.PostAsJsonAsync("/api/datasets",
            new { name = "breast-cancer", path, target = "CLASS", exclude = new[] { "mean area" } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = (await Client.GetFromJsonAsync<JsonObject>("/api/datasets/breast-cancer"))!;
        Assert.Equal(569, dataset["rowCount"]!.GetValue<long>());
        Assert.Equal("CLASS", dataset["target"]!.GetValue<string>());
        Assert.Equal(29, dataset["columns"]!.AsArray().Count);
        Assert.Equal("Numeric", dataset["columns"]![0]!["kind"]!.GetValue<string>());
        Assert.Equal(357, dataset["labelBalance"]!["1"]!.GetValue<long>());
        Assert.Equal(212, dataset["labelBalance"]!["0"]!.GetValue<long>());
        var list = (await Client.GetFromJsonAsync<JsonArray>("/api/datasets"))!;
        Assert.Contains(list, d => d!["name"]!.GetValue<string>() == "breast-cancer");
    }

    [Fact]
    public async Task A_multipart_upload_is_kept_in_the_artifact_store_under_its_hash()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("uploaded"), "name" },
            { new StringContent("label"), "target" },
            { new StringContent("id"), "exclude" },
        };
        var file = new ByteArrayContent("id,x,colour,label\n1,0.5,red,yes\n2,1.5,blue,no\n3,2.5,red,yes\n"u8.ToArray());
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", "mine.csv");

        using var response = await Client.PostAsync("/api/datasets", form);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(3, dataset["rowCount"]!.GetValue<long>());
        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", dataset["path"]!.GetValue<string>());
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "artifacts", dataset["path"]!.GetValue<string>())));
        Assert.Equal(["x", "colour"], dataset["columns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal("Categorical", dataset["columns"]![1]!["kind"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_broken_csv_is_refused_naming_file_and_line_and_unknown_names_are_404()
    {
        var path = Path.Combine(server.DataDirectory, "imports", "broken.csv");
        await File.WriteAllTextAsync(path, "a,b,y\n1,2,0\n3,4,1,9\n");

        using var response = await Client.PostAsJsonAsync("/api/datasets", new { name = "broken", path, target = "y" });
        using var missing = await Client.GetAsync("/api/datasets/never-registered");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var detail = (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>();
        Assert.Contains("broken.csv", detail);
        Assert.Contains("line 3", detail);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task A_dataset_without_a_target_is_for_scoring_only_checked_row_by_row_and_a_pipeline_refuses_it()
    {
        var path = Path.Combine(server.DataDirectory, "imports", "to-score.csv");
        await File.WriteAllTextAsync(path, "id,x,colour\n1,0.5,red\n2,,blue\n\n3,2.5,\"red, dark\"\n");

        using var response = await Client.PostAsJsonAsync("/api/datasets", new { name = "to-score", path });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Null(dataset["target"]);
        Assert.Equal(3, dataset["rowCount"]!.GetValue<long>());
        Assert.Empty(dataset["labelBalance"]!.AsObject());
        Assert.Equal(["id", "x", "colour"], dataset["columns"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()));
        Assert.Equal(["Numeric", "Numeric", "Categorical"], dataset["columns"]!.AsArray().Select(c => c!["kind"]!.GetValue<string>()));
        Assert.Equal(1, dataset["columns"]![1]!["missing"]!.GetValue<int>());
        Assert.Equal(["red", "blue", "red, dark"], dataset["columns"]![2]!["categories"]!.AsArray().Select(c => c!.GetValue<string>()));

        var broken = Path.Combine(server.DataDirectory, "imports", "to-score-broken.csv");
        await File.WriteAllTextAsync(broken, "id,x\n1,0.5\n2,1.5,7\n");
        using var refused = await Client.PostAsJsonAsync("/api/datasets", new { name = "to-score-broken", path = broken });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("line 3", (await refused.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());

        using var start = await Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters = new { DatasetName = "to-score" } });
        var id = (await start.Content.ReadFromJsonAsync<JsonObject>())!["executionId"]!.GetValue<string>();
        var ended = await Flotilla.Testing.Eventually.ValueAsync(async () => (await Client.GetFromJsonAsync<JsonObject>($"/api/executions/{id}"))!,
            e => e["status"]!.GetValue<string>() is "Failed" or "Succeeded", "the execution ends", TimeSpan.FromMinutes(1));
        Assert.Equal("Failed", ended["status"]!.GetValue<string>());
        Assert.Contains("registered for scoring only", ended["failureReason"]!.GetValue<string>());
    }

    /// <summary>A shared dataset copied into the server's default data root, where a path may point.</summary>
    internal static string Imported(RunningServer server, string file)
    {
        var path = Path.Combine(server.DataDirectory, "imports", file);
        File.Copy(SharedDatasets.Path(file), path, overwrite: true);
        return path;
    }
}

public sealed class DatasetSourcesTests
{
    [Fact]
    public async Task A_dataset_at_an_http_url_is_downloaded_into_the_data_folder()
    {
        // Listed by name, a host may resolve to loopback: the administrator chose it.
        await using var server = await RunningServer.StartAsync("--Flotilla:Datasets:AllowedUrlHosts:0=localhost");
        var port = FreePort();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://localhost:{port}/");
        listener.Start();
        var serve = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var bytes = await File.ReadAllBytesAsync(SharedDatasets.Path("banknote-authentication.csv"));
            context.Response.ContentType = "text/csv";
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        });
        var header = (await File.ReadAllLinesAsync(SharedDatasets.Path("banknote-authentication.csv")))[0].Split(',');

        using var response = await server.Client.PostAsJsonAsync("/api/datasets",
            new { name = "banknotes", path = $"http://localhost:{port}/banknote-authentication.csv", target = header[^1] });
        await serve;

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var dataset = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
        Assert.Equal(File.ReadAllLines(SharedDatasets.Path("banknote-authentication.csv")).Length - 1, dataset["rowCount"]!.GetValue<long>());
        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", dataset["path"]!.GetValue<string>());
    }

    [Fact]
    public async Task With_data_roots_configured_a_path_outside_them_is_refused()
    {
        var root = Directory.CreateTempSubdirectory("flotilla-root-").FullName;
        try
        {
            await using var server = await RunningServer.StartAsync($"--Flotilla:Pipelines:DataRoots:0={root}");
            File.Copy(SharedDatasets.Path("breast-cancer.csv"), Path.Combine(root, "bc.csv"));

            using var outside = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "bc", path = SharedDatasets.Path("breast-cancer.csv"), target = "CLASS" });
            using var inside = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "bc", path = Path.Combine(root, "bc.csv"), target = "CLASS" });

            Assert.Equal(HttpStatusCode.BadRequest, outside.StatusCode);
            Assert.Contains("outside the folders", (await outside.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
            Assert.Equal(HttpStatusCode.Created, inside.StatusCode);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The shared datasets beside the repository root (the folder holding Flotilla.slnx).</summary>
internal static class SharedDatasets
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string Path(string file) => System.IO.Path.GetFullPath(System.IO.Path.Combine(RepositoryRoot, "..", "shared", "datasets", file));

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No Flotilla.slnx above {AppContext.BaseDirectory}.");
    }
}
