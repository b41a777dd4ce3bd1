using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// Invocations sent without pause by a few concurrent callers per front door until stopped, every answer
/// recorded: what a load generator would see while a test breaks the cluster underneath it.
/// </summary>
internal sealed class LoadRun : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<Call> _calls = new();
    private readonly List<HttpClient> _clients = [];
    private readonly Task[] _workers;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    private LoadRun(IReadOnlyList<Uri> doors, string key, string path, string body, int callersPerDoor)
    {
        foreach (var door in doors)
        {
            var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = callersPerDoor })
            {
                BaseAddress = door,
                // Far beyond the invocation timeout: a call that hangs shows as a long one, not as a client error.
                Timeout = TimeSpan.FromSeconds(40),
            };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            _clients.Add(client);
        }
        _workers = [.. _clients.SelectMany(client => Enumerable.Range(0, callersPerDoor).Select(_ => Task.Run(() => CallAsync(client, path, body))))];
    }

    /// <summary>Time since the run started: mark an event (a kill, a cut) to split the calls around it.</summary>
    public TimeSpan Now => _clock.Elapsed;

    public int Succeeded => SucceededAfter(TimeSpan.Zero);

    public int SucceededAfter(TimeSpan moment) => _calls.Count(c => c.Status == HttpStatusCode.OK && c.Started >= moment);

    public static LoadRun Start(IReadOnlyList<Uri> doors, string key, string path, string body, int callersPerDoor = 4) =>
        new(doors, key, path, body, callersPerDoor);

    /// <summary>Stops sending, waits for the calls in flight and returns every call.</summary>
    public async Task<LoadReport> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        return new LoadReport([.. _calls.OrderBy(c => c.Started)]);
    }

    private async Task CallAsync(HttpClient client, string path, string body)
    {
        while (!_stop.IsCancellationRequested)
        {
            var started = _clock.Elapsed;
            try
            {
                using var content = new StringContent(body, Encoding.UTF8, "text/csv");
                using var response = await client.PostAsync(path, content);
                var text = response.IsSuccessStatusCode ? "" : await response.Content.ReadAsStringAsync();
                _calls.Enqueue(new Call(client.BaseAddress!, started, _clock.Elapsed - started, response.StatusCode,
                    response.Headers.RetryAfter is not null, text));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                _calls.Enqueue(new Call(client.BaseAddress!, started, _clock.Elapsed - started, null, false, $"{e.GetType().Name}: {e.Message}"));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        _stop.Dispose();
    }
}

/// <summary>One invocation: when it started (since the run began), how long it took, its status (null: no answer).</summary>
internal sealed record Call(Uri Door, TimeSpan Started, TimeSpan Elapsed, HttpStatusCode? Status, bool RetryAfter, string Error);

internal sealed record LoadReport(IReadOnlyList<Call> Calls)
{
    public IReadOnlyList<Call> Failed => [.. Calls.Where(c => c.Status != HttpStatusCode.OK)];

    public IEnumerable<Call> After(TimeSpan moment) => Calls.Where(c => c.Started >= moment);

    public TimeSpan Longest => Calls.Count == 0 ? TimeSpan.Zero : Calls.Max(c => c.Elapsed);

    /// <summary>The longest call among those still waiting at <paramref name="moment"/> or started after it: the failover gap a caller saw.</summary>
    public TimeSpan LongestAround(TimeSpan moment) =>
        Calls.Where(c => c.Started + c.Elapsed >= moment).Select(c => c.Elapsed).DefaultIfEmpty(TimeSpan.Zero).Max();

    public override string ToString()
    {
        var statuses = string.Join(", ", Calls.GroupBy(c => c.Status?.ToString() ?? "no answer").Select(g => $"{g.Key}: {g.Count()}"));
        var failures = string.Join("\n", Failed.Take(5).Select(c => $"  {c.Door} at {c.Started.TotalSeconds:F2} s after {c.Elapsed.TotalMilliseconds:F0} ms: {c.Status?.ToString() ?? "no answer"} {c.Error}"));
        return $"{Calls.Count} calls ({statuses}), longest {Longest.TotalMilliseconds:F0} ms{(failures.Length > 0 ? "\n" + failures : "")}";
    }
}
