using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Flotilla.Contracts;

namespace Flotilla.Cli.Client;

/// <summary>
/// The HTTP API of docs/contracts.md as the CLI sees it: one method per route, reading and writing the
/// <see cref="Flotilla.Contracts"/> records through their source-generated metadata (<see cref="FlotillaJson"/>).
/// Errors become <see cref="FlotillaApiException"/> carrying the problem details' <c>detail</c>.
/// </summary>
internal sealed class FlotillaClient(HttpClient http) : IDisposable
{
    private static readonly FlotillaJson Json = FlotillaJson.Default;

    public const string DefaultServer = "http://127.0.0.1:5180";

    public Uri BaseAddress => http.BaseAddress!;

    public static FlotillaClient Create(Uri server, string? token)
    {
        var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new(http);
    }

    // Datasets
    public Task<IReadOnlyList<Dataset>> ListDatasetsAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/datasets", Json.IReadOnlyListDataset, cancellationToken);

    public Task<Dataset> RegisterDatasetAsync(RegisterDatasetRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/api/datasets", JsonContent.Create(request, Json.RegisterDatasetRequest), Json.Dataset, cancellationToken);

    /// <summary>Uploads a CSV as a dataset; without <paramref name="target"/> it is registered for scoring only.</summary>
    public Task<Dataset> UploadDatasetAsync(string name, string? target, IReadOnlyList<string> exclude, string fileName, Stream csv, CancellationToken cancellationToken)
    {
        var form = new MultipartFormDataContent { { new StringContent(name), "name" } };
        if (target is not null)
        {
            form.Add(new StringContent(target), "target");
        }
        if (exclude.Count > 0)
        {
            form.Add(new StringContent(string.Join(",", exclude)), "exclude");
        }
        var file = new StreamContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", fileName);
        return SendAsync(HttpMethod.Post, "/api/datasets", form, Json.Dataset, cancellationToken);
    }

    public Task DeleteDatasetAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"/api/datasets/{Uri.EscapeDataString(name)}", null, cancellationToken);

    // Pipelines and executions
    public Task<ExecutionStarted> StartExecutionAsync(string pipeline, JsonObject parameters, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"/api/pipelines/{Uri.EscapeDataString(pipeline)}/executions",
            JsonContent.Create(new StartExecutionRequest(parameters.ToDictionary()), Json.StartExecutionRequest), Json.ExecutionStarted, cancellationToken);

    public Task<IReadOnlyList<ExecutionSummary>> ListExecutionsAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/executions", Json.IReadOnlyListExecutionSummary, cancellationToken);

    public Task<ExecutionDetail> GetExecutionAsync(string id, CancellationToken cancellationToken) =>
        GetAsync($"/api/executions/{Uri.EscapeDataString(id)}", Json.ExecutionDetail, cancellationToken);

    public Task<IReadOnlyList<ExecutionTrial>> ListTrialsAsync(string id, CancellationToken cancellationToken) =>
        GetAsync($"/api/executions/{Uri.EscapeDataString(id)}/trials", Json.IReadOnlyListExecutionTrial, cancellationToken);

    public Task<ExecutionDetail> StopExecutionAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"/api/executions/{Uri.EscapeDataString(id)}/stop", null, Json.ExecutionDetail, cancellationToken);

    // Registry
    public Task<IReadOnlyList<PackageGroup>> ListGroupsAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/registry/groups", Json.IReadOnlyListPackageGroup, cancellationToken);

    public Task<IReadOnlyList<PackageSummary>> ListPackagesAsync(string group, CancellationToken cancellationToken) =>
        GetAsync($"/api/registry/groups/{Uri.EscapeDataString(group)}/packages", Json.IReadOnlyListPackageSummary, cancellationToken);

    public Task<Package> GetPackageAsync(string id, CancellationToken cancellationToken) =>
        GetAsync($"/api/registry/packages/{Uri.EscapeDataString(id)}", Json.Package, cancellationToken);

    /// <summary>Sets a package's status; an approval with <paramref name="rollout"/> starts a canary rather than serving it at once.</summary>
    public Task<Package> UpdateApprovalAsync(
        string id, ApprovalStatus status, string? description, CancellationToken cancellationToken, RolloutRequest? rollout = null) =>
        SendAsync(HttpMethod.Patch, $"/api/registry/packages/{Uri.EscapeDataString(id)}",
            JsonContent.Create(new UpdateApprovalRequest(status.ToString(), description, rollout), Json.UpdateApprovalRequest), Json.Package, cancellationToken);

    public Task<IReadOnlyList<DeploymentFailure>> ListDeploymentFailuresAsync(string group, CancellationToken cancellationToken) =>
        GetAsync($"/api/registry/groups/{Uri.EscapeDataString(group)}/deployments/failures", Json.IReadOnlyListDeploymentFailure, cancellationToken);

    // Endpoint
    public Task<EndpointView> GetEndpointAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/endpoint", Json.EndpointView, cancellationToken);

    public Task<DeploymentOutcome> PinAsync(string group, int version, CancellationToken cancellationToken) =>
        SetAliasAsync(group, new PinRequest(version), cancellationToken);

    /// <summary>Pins, splits or shadows a group's calls: the whole body of <c>PUT /api/endpoint/aliases/{group}</c>.</summary>
    public Task<DeploymentOutcome> SetAliasAsync(string group, PinRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"/api/endpoint/aliases/{Uri.EscapeDataString(group)}",
            JsonContent.Create(request, Json.PinRequest), Json.DeploymentOutcome, cancellationToken);

    public Task<CanaryRollout> GetRolloutAsync(string group, CancellationToken cancellationToken) =>
        GetAsync($"/api/endpoint/groups/{Uri.EscapeDataString(group)}/rollout", Json.CanaryRollout, cancellationToken);

    /// <summary>Rows as JSON objects by column name (column order does not matter) or as bare CSV rows in the model's feature order.</summary>
    public Task<InvocationAnswer> InvokeAsync(string group, JsonArray rows, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"/models/{Uri.EscapeDataString(group)}/invocations", JsonContent.Create(rows, Json.JsonArray), Json.InvocationAnswer, cancellationToken);

    public Task<InvocationAnswer> InvokeCsvAsync(string group, string csv, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"/models/{Uri.EscapeDataString(group)}/invocations",
            new StringContent(csv, Encoding.UTF8, new MediaTypeHeaderValue("text/csv")), Json.InvocationAnswer, cancellationToken);

    // Keys and audit
    public Task<CreatedKey> CreateKeyAsync(CreateKeyRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/api/keys", JsonContent.Create(request, Json.CreateKeyRequest), Json.CreatedKey, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListKeysAsync(CancellationToken cancellationToken) =>
        GetAsync("/api/keys", Json.IReadOnlyListApiKey, cancellationToken);

    public Task RevokeKeyAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"/api/keys/{Uri.EscapeDataString(id)}", null, cancellationToken);

    public Task<IReadOnlyList<AuditEntry>> ListAuditAsync(string? actor, string? target, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        var query = new List<string>();
        if (actor is { Length: > 0 })
            query.Add("actor=" + Uri.EscapeDataString(actor));
        if (target is { Length: > 0 })
            query.Add("target=" + Uri.EscapeDataString(target));
        if (since is { } s)
            query.Add("since=" + Uri.EscapeDataString(s.ToString("O", CultureInfo.InvariantCulture)));
        return GetAsync("/api/audit" + (query.Count == 0 ? "" : "?" + string.Join("&", query)), Json.IReadOnlyListAuditEntry, cancellationToken);
    }

    // Batch jobs
    public Task<BatchJob> CreateBatchJobAsync(CreateBatchJobRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/api/batch-jobs", JsonContent.Create(request, Json.CreateBatchJobRequest), Json.BatchJob, cancellationToken);

    public Task<BatchJob> GetBatchJobAsync(string id, CancellationToken cancellationToken) =>
        GetAsync($"/api/batch-jobs/{Uri.EscapeDataString(id)}", Json.BatchJob, cancellationToken);

    public Task<BatchJob> CancelBatchJobAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"/api/batch-jobs/{Uri.EscapeDataString(id)}/cancel", null, Json.BatchJob, cancellationToken);

    // Monitoring
    public Task<CaptureView> GetCaptureAsync(string group, CancellationToken cancellationToken) =>
        GetAsync($"/api/endpoint/groups/{Uri.EscapeDataString(group)}/capture", Json.CaptureView, cancellationToken);

    /// <summary>Sets the share of a group's calls captured; null returns it to the server's default.</summary>
    public Task<CaptureView> SetCaptureAsync(string group, double? percent, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"/api/endpoint/groups/{Uri.EscapeDataString(group)}/capture",
            JsonContent.Create(new CaptureSetting(percent), Json.CaptureSetting), Json.CaptureView, cancellationToken);

    /// <summary>A step's outputs read as the record its type declares (e.g. <see cref="RegisterOutputs"/>).</summary>
    public static T? Outputs<T>(ExecutionStep step, JsonTypeInfo<T> type) where T : class =>
        step.Outputs is { } outputs ? outputs.Deserialize(type) : null;

    /// <summary>The headline of a package's evaluation report, or null when it has none.</summary>
    public static EvaluationSummary? Evaluation(Package package) =>
        package.EvaluationReport.ValueKind == JsonValueKind.Object ? package.EvaluationReport.Deserialize(Json.EvaluationSummary) : null;

    /// <summary>A server-sent event stream, open once its headers arrived; the caller reads it to its end.</summary>
    public async Task<Stream> OpenEventStreamAsync(string executionId, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/executions/{Uri.EscapeDataString(executionId)}/events");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            response.Dispose();
            throw new FlotillaApiException(response.StatusCode, DescribeError(request, response.StatusCode, text));
        }
        return await response.Content.ReadAsStreamAsync(cancellationToken);
    }

    /// <summary>Streams a batch job's result CSV into <paramref name="destination"/> (it may be far larger than memory).</summary>
    public async Task DownloadBatchResultAsync(string id, Stream destination, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/batch-jobs/{Uri.EscapeDataString(id)}/result");
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new FlotillaUnreachableException(
                $"Cannot reach the Flotilla server at {http.BaseAddress} ({e.Message}); start one with `flotilla server` or pass --server URL.", e);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new FlotillaApiException(response.StatusCode, DescribeError(request, response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken)));
            }
            await response.Content.CopyToAsync(destination, cancellationToken);
        }
    }

    private Task<T> GetAsync<T>(string path, JsonTypeInfo<T> answer, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path, null, answer, cancellationToken);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? body, JsonTypeInfo<T> answer, CancellationToken cancellationToken)
    {
        var text = await SendAsync(method, path, body, cancellationToken);
        try
        {
            return JsonSerializer.Deserialize(text, answer)
                ?? throw new FlotillaApiException(HttpStatusCode.InternalServerError, $"{method} {path} answered null where a {typeof(T).Name} was expected.");
        }
        catch (JsonException e)
        {
            throw new FlotillaApiException(HttpStatusCode.InternalServerError,
                $"{method} {path} answered JSON this CLI cannot read as {typeof(T).Name} ({e.Message}); is the server the same version as the CLI?");
        }
    }

    private async Task<string> SendAsync(HttpMethod method, string path, HttpContent? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body };
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new FlotillaUnreachableException(
                $"Cannot reach the Flotilla server at {http.BaseAddress} ({e.Message}); start one with `flotilla server` or pass --server URL.", e);
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new FlotillaApiException(response.StatusCode, DescribeError(request, response.StatusCode, text));
            }
            return text;
        }
    }

    /// <summary>Problem details' detail (or title), else the status line: one sentence the user can act on.</summary>
    private static string DescribeError(HttpRequestMessage request, HttpStatusCode status, string body)
    {
        var route = $"{request.Method} {request.RequestUri}";
        try
        {
            if (body.StartsWith('{') && JsonSerializer.Deserialize(body, Json.Problem) is { } problem)
            {
                var detail = problem.Detail ?? problem.Title;
                if (!string.IsNullOrWhiteSpace(detail))
                {
                    // A refused definition's detail already lists every {where, message} of its errors.
                    return detail.TrimEnd();
                }
            }
        }
        catch (JsonException)
        {
            // Not a problem document: fall through to the status line.
        }
        return status == HttpStatusCode.NotFound
            ? $"The server has no {route} (404)."
            : $"{route} failed with {(int)status} {status}{(string.IsNullOrWhiteSpace(body) ? "" : ": " + body.Trim())}.";
    }

    public void Dispose() => http.Dispose();
}

/// <summary>No server answered at the address: the message says how to start one.</summary>
internal sealed class FlotillaUnreachableException(string message, Exception inner) : Exception(message, inner);
