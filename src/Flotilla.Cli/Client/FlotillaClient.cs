using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Cli.Client;

/// <summary>
/// The HTTP API of docs/contracts.md as the CLI sees it. Answers are kept as JSON so the CLI prints what the
/// server sends (<c>--json</c>) and reads only the few fields it needs; errors become
/// <see cref="FlotillaApiException"/> carrying the problem details' <c>detail</c>.
/// </summary>
internal sealed class FlotillaClient(HttpClient http) : IDisposable
{
    public const string DefaultServer = "http://127.0.0.1:5180";

    public Uri BaseAddress => http.BaseAddress!;

    public static FlotillaClient Create(Uri server, string? token)
    {
        var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromMinutes(5) };
        if (token is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return new(http);
    }

    public Task<JsonNode> GetAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);

    public Task<JsonNode> PostJsonAsync(string path, object body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) }, cancellationToken);

    public Task<JsonNode> PatchJsonAsync(string path, object body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Patch, path) { Content = JsonContent.Create(body) }, cancellationToken);

    public Task<JsonNode> PutJsonAsync(string path, object body, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body) }, cancellationToken);

    public Task<JsonNode> DeleteAsync(string path, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), cancellationToken);

    public Task<JsonNode> PostCsvAsync(string path, string csv, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(csv, Encoding.UTF8, new MediaTypeHeaderValue("text/csv")),
        }, cancellationToken);

    public Task<JsonNode> UploadCsvAsync(string path, string fileName, Stream csv, IReadOnlyDictionary<string, string> fields, CancellationToken cancellationToken)
    {
        var form = new MultipartFormDataContent();
        foreach (var (key, value) in fields)
        {
            form.Add(new StringContent(value), key);
        }
        var file = new StreamContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        form.Add(file, "file", fileName);
        return SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = form }, cancellationToken);
    }

    /// <summary>A server-sent event stream, open once its headers arrived; the caller reads it to its end.</summary>
    public async Task<Stream> OpenEventStreamAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
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

    /// <summary>Streams a GET's body into <paramref name="destination"/> (a result file may be far larger than memory).</summary>
    public async Task DownloadAsync(string path, Stream destination, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
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

    private async Task<JsonNode> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using (request)
        {
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
                if (string.IsNullOrWhiteSpace(text))
                {
                    return new JsonObject();
                }
                var mediaType = response.Content.Headers.ContentType?.MediaType ?? "";
                if (!mediaType.Contains("json", StringComparison.OrdinalIgnoreCase))
                {
                    return JsonValue.Create(text);
                }
                return JsonNode.Parse(text) ?? new JsonObject();
            }
        }
    }

    /// <summary>Problem details' detail (or title), else the status line: one sentence the user can act on.</summary>
    private static string DescribeError(HttpRequestMessage request, HttpStatusCode status, string body)
    {
        var route = $"{request.Method} {request.RequestUri}";
        try
        {
            if (JsonNode.Parse(body) is JsonObject problem)
            {
                var detail = problem["detail"]?.GetValue<string>() ?? problem["title"]?.GetValue<string>();
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
