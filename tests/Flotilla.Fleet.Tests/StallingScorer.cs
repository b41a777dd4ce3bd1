using Flotilla.Fleet.Models;
using Flotilla.Fleet.Monitoring;
using Flotilla.Learning.Artifacts;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

/// <summary>
/// Wraps the shipped scorer in the test cluster only: while <see cref="Switch.Stall"/> holds a silo, every call scored
/// there blocks until <see cref="Switch.Release"/>, as a silo cut off from the network leaves its callers waiting. One
/// instance is shared by every silo of the cluster, and each scorer asks it whether its own silo is stalled.
/// </summary>
internal sealed class StallingScorer(IModelScorer inner, SiloAddress silo, StallingScorer.Switch stall) : IModelScorer
{
    public static void Register(IServiceCollection services, Switch stall) =>
        services.AddSingleton<IModelScorer>(sp => new StallingScorer(
            new ModelScorer(sp.GetRequiredService<LiveMonitor>()), sp.GetRequiredService<ILocalSiloDetails>().SiloAddress, stall));

    public InvocationResult Score(string artifactSha256, LoadedModel model, InvocationRequest request)
    {
        stall.WaitIfStalled(silo);
        return inner.Score(artifactSha256, model, request);
    }

    public sealed class Switch : IDisposable
    {
        private readonly ManualResetEventSlim _released = new(initialState: true);
        private SiloAddress? _stalled;

        public void Stall(SiloAddress silo)
        {
            // Each stalled call blocks a pool thread, and the cluster's silos share this process's pool: without
            // spare threads, the pool's slow thread injection (not the code under test) would delay every other call.
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(workers, 32), io);
            _stalled = silo;
            _released.Reset();
        }

        public void Release() => _released.Set();

        internal void WaitIfStalled(SiloAddress silo)
        {
            if (silo.Equals(Volatile.Read(ref _stalled)))
            {
                _released.Wait(TimeSpan.FromSeconds(30));
            }
        }

        public void Dispose()
        {
            Release();
            _released.Dispose();
        }
    }
}
