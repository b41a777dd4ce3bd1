using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Cli;
using Flotilla.Server.Tests.Cli;

namespace Flotilla.Server.Tests.Security;

/// <summary>
/// The attacks of a default server tried from the network, each refused, and each leaving nothing read, run,
/// stored or deleted.
/// </summary>
public sealed class HardeningTests(RunningServer server) : IClassFixture<RunningServer>
{
    private HttpClient Client => server.Client;

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonObject>())!;
    }

    private static string Detail(JsonObject problem) => problem["detail"]!.GetValue<string>();

    private async Task UploadAsync(string name, string csv, string target = "y", string? exclude = null)
    {
        using var form = new MultipartFormDataContent { { new StringContent(name), "name" }, { new StringContent(target), "target" } };
        if (exclude is not null)
        {
            form.Add(new StringContent(exclude), "exclude");
        }
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", $"{name}.csv");
        using var response = await Client.PostAsync("/api/datasets", form);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    private async Task<IReadOnlyList<string>> DatasetNamesAsync() =>
        [.. (await Client.GetFromJsonAsync<JsonArray>("/api/datasets"))!.Select(d => d!["name"]!.GetValue<string>())];

    [Fact]
    public async Task A_drive_by_text_plain_pipeline_with_a_Process_step_is_refused_and_never_runs()
    {
        var marker = Path.Combine(server.DataDirectory, "pwned");
        using var body = new StringContent($"name: driveby\nsteps:\n  - {{ name: own, type: Process, command: [sh, -c, \"id > {marker}\"] }}\n", Encoding.UTF8, "text/plain");

        using var created = await Client.PostAsync("/api/pipelines", body);
        using var started = await Client.PostAsync("/api/pipelines/driveby/executions", null);

        var problem = await ProblemAsync(created, HttpStatusCode.BadRequest);
        Assert.Contains("Flotilla:Pipelines:AllowProcessSteps=true", Detail(problem));
        Assert.Equal("steps[own].type", problem["errors"]![0]!["where"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.NotFound, started.StatusCode);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task Reading_the_servers_files_through_a_dataset_path_is_refused_without_echoing_them()
    {
        var imports = Path.Combine(server.DataDirectory, "imports");
        var link = Path.Combine(imports, "innocent.csv");
        File.CreateSymbolicLink(link, "/etc/passwd");
        string[] paths =
        [
            "/etc/shadow", "/etc/passwd", Path.Combine(server.DataDirectory, "flotilla.db"),
            Path.Combine(imports, "..", "flotilla.db"), link, "../../../../etc/passwd",
        ];

        foreach (var path in paths)
        {
            using var response = await Client.PostAsJsonAsync("/api/datasets", new { name = "leak", path, target = "root" });
            var detail = Detail(await ProblemAsync(response, HttpStatusCode.BadRequest));
            Assert.Contains("outside the folders", detail);
            Assert.DoesNotContain("root:", detail);
            Assert.DoesNotContain("SQLite", detail);
        }
        Assert.DoesNotContain("leak", await DatasetNamesAsync());
    }

    [Fact]
    public async Task A_dataset_url_on_loopback_is_refused_before_connecting_and_open_and_closed_ports_answer_alike()
    {
        using var open = new TcpListener(IPAddress.Loopback, 0);
        open.Start();
        var openPort = ((IPEndPoint)open.LocalEndpoint).Port;
        var closedPort = FreePort();

        using var toOpen = await Client.PostAsJsonAsync("/api/datasets", new { name = "ssrf", path = $"http://127.0.0.1:{openPort}/metrics", target = "x" });
        using var toClosed = await Client.PostAsJsonAsync("/api/datasets", new { name = "ssrf", path = $"http://127.0.0.1:{closedPort}/metrics", target = "x" });

        var openDetail = Detail(await ProblemAsync(toOpen, HttpStatusCode.BadRequest));
        var closedDetail = Detail(await ProblemAsync(toClosed, HttpStatusCode.BadRequest));
        Assert.Contains("Flotilla:Datasets:AllowedUrlHosts", openDetail);
        Assert.Equal(openDetail.Replace(openPort.ToString(), "PORT"), closedDetail.Replace(closedPort.ToString(), "PORT"));
        Assert.False(open.Pending(), "the server connected to the loopback port");
        Assert.DoesNotContain("ssrf", await DatasetNamesAsync());
    }

    [Fact]
    public async Task Registering_a_second_dataset_at_the_firsts_upload_is_refused_so_deleting_it_cannot_destroy_the_upload()
    {
        await UploadAsync("owner", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
        var uploaded = (await Client.GetFromJsonAsync<JsonObject>("/api/datasets/owner"))!["path"]!.GetValue<string>();

        using var second = await Client.PostAsJsonAsync("/api/datasets", new { name = "thief", path = uploaded, target = "y" });
        using var deleted = await Client.DeleteAsync("/api/datasets/thief");

        Assert.Contains("outside the folders", Detail(await ProblemAsync(second, HttpStatusCode.BadRequest)));
        Assert.Equal(HttpStatusCode.NotFound, deleted.StatusCode);
        Assert.True(File.Exists(Path.Combine(server.DataDirectory, "artifacts", uploaded)));
        Assert.Equal(3, (await Client.GetFromJsonAsync<JsonObject>("/api/datasets/owner"))!["rowCount"]!.GetValue<long>());
    }

    [Fact]
    public async Task The_cli_uploads_a_file_the_server_may_not_read_and_sends_its_path_only_with_server_path()
    {
        var csv = Path.Combine(server.DataDirectory, "outside-the-roots.csv");
        await File.WriteAllTextAsync(csv, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");

        var uploaded = await CliRunner.RunAsync(server, "dataset", "add", "cli-upload", "--csv", csv, "--target", "y");
        var byPath = await CliRunner.RunAsync(server, "dataset", "add", "cli-path", "--csv", csv, "--target", "y", "--server-path");

        Assert.True(uploaded.ExitCode == ExitCodes.Success, uploaded.ToString());
        var path = (await Client.GetFromJsonAsync<JsonObject>("/api/datasets/cli-upload"))!["path"]!.GetValue<string>();
        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", path);
        Assert.NotEqual(ExitCodes.Success, byPath.ExitCode);
        Assert.Contains("outside the folders", byPath.Error);
        Assert.DoesNotContain("cli-path", await DatasetNamesAsync());
    }

    [Fact]
    public async Task The_421_byte_billion_laughs_yaml_body_answers_400_at_once()
    {
        // The classic shape: nine levels of nine aliases, 9^9 strings once expanded.
        var levels = new[] { "a: &a [" + string.Join(", ", Enumerable.Repeat("\"lol\"", 9)) + "]" }
            .Concat("bcdefghi".Select((c, i) => $"{c}: &{c} [{string.Join(", ", Enumerable.Repeat($"*{(char)('a' + i)}", 9))}]"));
        var bomb = "name: x\n" + string.Join('\n', levels);
        Assert.Equal(421, Encoding.UTF8.GetByteCount(bomb));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        using var response = await Client.PostAsync("/api/pipelines", new StringContent(bomb, Encoding.UTF8, "application/yaml"), timeout.Token);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("line 2, column 4", problem["errors"]![0]!["where"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("name: [unclosed\n")]
    [InlineData("? [a, b]\n: c\n")]
    [InlineData("name: x\nname: y\n")]
    [InlineData("{\"name\": \"x\", \"steps\": [}")]
    [InlineData("{\"definition\": \"name: x\", \"definition\": \"name: y\"}", "application/json")]
    public async Task A_malformed_definition_answers_400_with_line_and_column(string text, string type = "text/plain")
    {
        using var response = await Client.PostAsync("/api/pipelines", new StringContent(text, Encoding.UTF8, type));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Matches(@"^line \d+, column \d+$", problem["errors"]![0]!["where"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("RandomState", 3000000000L)]
    [InlineData("MinThresholdForRegisterMetric", 5L)]
    [InlineData("MinThresholdForRegisterMetric", -1L)]
    public async Task An_out_of_range_parameter_is_refused_at_start_naming_it(string parameter, long value)
    {
        await UploadAsync("ranges", "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
        var parameters = new Dictionary<string, object> { ["DatasetName"] = "ranges", [parameter] = value };
        var before = (await Client.GetFromJsonAsync<JsonArray>("/api/executions"))!.Count;

        using var response = await Client.PostAsJsonAsync("/api/pipelines/multimodel/executions", new { parameters });

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(parameter, problem["errors"]![0]!["where"]!.GetValue<string>());
        Assert.Contains("outside", Detail(problem));
        Assert.Equal(before, (await Client.GetFromJsonAsync<JsonArray>("/api/executions"))!.Count);
    }

    [Theory]
    [InlineData("id,y\n1,1\n2,0\n3,1\n", "id")]
    [InlineData("y\n1\n0\n1\n", null)]
    public async Task A_dataset_without_any_feature_is_refused_at_registration(string csv, string? exclude)
    {
        using var form = new MultipartFormDataContent { { new StringContent("featureless"), "name" }, { new StringContent("y"), "target" } };
        if (exclude is not null)
        {
            form.Add(new StringContent(exclude), "exclude");
        }
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", "f.csv");

        using var response = await Client.PostAsync("/api/datasets", form);

        Assert.Contains("no feature columns", Detail(await ProblemAsync(response, HttpStatusCode.BadRequest)));
        Assert.DoesNotContain("featureless", await DatasetNamesAsync());
    }

    [Fact]
    public async Task A_file_registered_by_path_with_only_its_label_column_is_refused()
    {
        var path = Path.Combine(server.DataDirectory, "imports", "label-only.csv");
        await File.WriteAllTextAsync(path, "y\n1\n0\n1\n");

        using var response = await Client.PostAsJsonAsync("/api/datasets", new { name = "label-only", path, target = "y" });

        Assert.Contains("no feature columns", Detail(await ProblemAsync(response, HttpStatusCode.BadRequest)));
        Assert.DoesNotContain("label-only", await DatasetNamesAsync());
    }

    [Theory]
    [InlineData("POST", "/api/pipelines/multimodel/executions")]
    [InlineData("PATCH", "/api/registry/packages/multimodel-x-v1")]
    [InlineData("PUT", "/api/endpoint/aliases/multimodel-x")]
    public async Task Malformed_json_bodies_get_a_problem_naming_where(string method, string path)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path)
        {
            Content = new StringContent("{\"parameters\": {\"a\": 1,}", Encoding.UTF8, "application/json"),
        };

        using var response = await Client.SendAsync(request);

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.StartsWith("line 1, byte ", problem["where"]!.GetValue<string>());
        Assert.Contains("line 1, byte", Detail(problem));
    }

    [Fact]
    public async Task A_ten_thousand_character_path_segment_gets_a_problem_body()
    {
        using var response = await Client.GetAsync("/api/datasets/" + new string('a', 10_000));

        Assert.Contains("at most", Detail(await ProblemAsync(response, HttpStatusCode.RequestUriTooLong)));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>The body limit, on a server with a small one.</summary>
public sealed class BodyLimitTests
{
    private const int Limit = 4096;

    [Fact]
    public async Task A_body_over_MaxRequestBodyBytes_is_413_naming_the_setting_multipart_and_chunked_included()
    {
        await using var server = await RunningServer.StartAsync($"--Flotilla:MaxRequestBodyBytes={Limit}");
        var csv = "a,b,y\n" + string.Concat(Enumerable.Repeat("1,2,0\n3,4,1\n", 1000));

        using var form = new MultipartFormDataContent { { new StringContent("big"), "name" }, { new StringContent("y"), "target" } };
        form.Add(new ByteArrayContent(Encoding.UTF8.GetBytes(csv)), "file", "big.csv");
        using var sized = await server.Client.PostAsync("/api/datasets", form);
        using var chunkedForm = new MultipartFormDataContent { { new StringContent("big"), "name" }, { new StringContent("y"), "target" } };
        chunkedForm.Add(new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(csv))), "file", "big.csv");
        using var chunkedRequest = new HttpRequestMessage(HttpMethod.Post, "/api/datasets") { Content = chunkedForm };
        chunkedRequest.Headers.TransferEncodingChunked = true;
        using var chunked = await server.Client.SendAsync(chunkedRequest);
        using var definition = await server.Client.PostAsync("/api/pipelines", new StringContent("name: x\ndescription: " + new string('x', 2 * Limit), Encoding.UTF8, "text/plain"));
        using var invocation = await server.Client.PostAsync("/models/multimodel-none/invocations", new StringContent(csv, Encoding.UTF8, "text/csv"));

        foreach (var response in new[] { sized, chunked, definition })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            var problem = (await response.Content.ReadFromJsonAsync<JsonObject>())!;
            Assert.Contains("Flotilla:MaxRequestBodyBytes", problem["detail"]!.GetValue<string>());
        }
        Assert.DoesNotContain("Flotilla:MaxRequestBodyBytes", await invocation.Content.ReadAsStringAsync());
        Assert.Empty((await server.Client.GetFromJsonAsync<JsonArray>("/api/datasets"))!);
        Assert.False(Directory.Exists(Path.Combine(server.DataDirectory, "datasets")) && Directory.EnumerateFiles(Path.Combine(server.DataDirectory, "datasets")).Any());
    }
}

/// <summary>A host allowed only by a pattern must still not lead to loopback: the address is checked in the connection.</summary>
public sealed class UrlPatternTests
{
    [Fact]
    public async Task A_host_allowed_by_pattern_that_is_a_loopback_address_is_refused_before_connecting()
    {
        await using var server = await RunningServer.StartAsync("--Flotilla:Datasets:AllowedUrlHosts:0=*.0.0.1");
        using var open = new TcpListener(IPAddress.Loopback, 0);
        open.Start();
        var port = ((IPEndPoint)open.LocalEndpoint).Port;

        using var response = await server.Client.PostAsJsonAsync("/api/datasets", new { name = "rebind", path = $"http://127.0.0.1:{port}/data.csv", target = "y" });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("loopback", (await response.Content.ReadFromJsonAsync<JsonObject>())!["detail"]!.GetValue<string>());
        Assert.False(open.Pending(), "the server connected to the loopback port");
    }
}
