using System.Collections.Concurrent;
using Flotilla.Fleet.Models;
using Flotilla.Fleet.Monitoring;
using Flotilla.Learning.Artifacts;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Server.Tests.Endpoint;

/// <summary>
/// Wraps the shipped scorer in the test host only: for an artifact given a <see cref="Fault"/>, one call in
/// <c>FailEvery</c> answers as a model that cannot serve (a 503 at the door) and every call waits <c>Delay</c>
/// first. The artifacts stay plain models; the shipped server never registers this.
/// </summary>
internal sealed class FaultInjectingScorer(IModelScorer inner) : IModelScorer
{
    private readonly ConcurrentDictionary<string, Fault> _faults = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _calls = new(StringComparer.Ordinal);

    /// <summary>Registers the decorator in a server being built (pass to <see cref="RunningServer.StartAsync(Action{WebApplicationBuilder}, string[])"/>).</summary>
    public static void Register(WebApplicationBuilder builder) =>
        builder.Services.AddSingleton<FaultInjectingScorer>(sp => new FaultInjectingScorer(new ModelScorer(sp.GetRequiredService<LiveMonitor>())))
            .AddSingleton<IModelScorer>(sp => sp.GetRequiredService<FaultInjectingScorer>());

    public void Inject(string artifactSha256, Fault fault) => _faults[artifactSha256] = fault;

    public InvocationResult Score(string artifactSha256, LoadedModel model, InvocationRequest request)
    {
        if (!_faults.TryGetValue(artifactSha256, out var fault))
        {
            return inner.Score(artifactSha256, model, request);
        }
        if (fault.Delay > TimeSpan.Zero)
        {
            Thread.Sleep(fault.Delay);
        }
        var n = _calls.AddOrUpdate(artifactSha256, 1, (_, c) => c + 1);
        return fault.FailEvery > 0 && n % fault.FailEvery == 0
            ? InvocationResult.Failed(InvocationOutcome.Unavailable, $"injected fault: call {n} of model {artifactSha256} fails")
            : inner.Score(artifactSha256, model, request);
    }

    /// <summary>One call in <paramref name="FailEvery"/> fails (0: none); every call first waits <paramref name="Delay"/>.</summary>
    public sealed record Fault(int FailEvery, TimeSpan Delay);
}
