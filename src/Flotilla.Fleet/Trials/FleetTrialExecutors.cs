using Flotilla.Storage.Artifacts;
using Flotilla.Tuning;
using Microsoft.Extensions.Logging;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// Trials on every active silo of the fleet. With no other silo (the embedded shape) this is the in-process
/// executor: nothing is stored, serialized or called. Otherwise the training CSV goes to the artifact store once
/// (content-addressed: a second run on the same split stores nothing), and each other silo's cores are asked once.
/// </summary>
internal sealed partial class FleetTrialExecutors(
    IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails local, IArtifactStore store,
    ILogger<FleetTrialExecutors> logger) : ITrialExecutorFactory
{
    /// <summary>How long a silo may take to say how many cores it has before the run goes on without it.</summary>
    internal static readonly TimeSpan CoresTimeout = TimeSpan.FromSeconds(5);

    public async Task<ITrialExecutor> CreateAsync(TrialData data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        var self = local.SiloAddress;
        var slots = new Dictionary<SiloAddress, int> { [self] = Environment.ProcessorCount };
        var others = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self))
            .Select(m => m.SiloAddress)
            .ToList();
        TrialDataRef? stored = null;
        var leftOut = new Dictionary<SiloAddress, string>();
        if (others.Count > 0)
        {
            await using (var file = File.OpenRead(data.CsvPath))
            {
                stored = TrialDataRef.From((await store.PutAsync(file, cancellationToken)).Sha256, data.Csv);
            }

            var cores = await Task.WhenAll(others.Select(async silo =>
            {
                try
                {
                    return (silo, Cores: await grains.GetGrain<ITrialWorkerGrain>(silo.ToParsableString()).GetCoresAsync().WaitAsync(CoresTimeout, cancellationToken), Error: (string?)null);
                }
                catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    LogSiloLeftOut(silo.ToString(), e.Message);
                    return (silo, Cores: 0, Error: e is TimeoutException
                        ? $"it did not say how many cores it has within {CoresTimeout.TotalSeconds:0.#} s"
                        : $"asking how many cores it has failed ({e.GetType().Name})");
                }
            }));
            foreach (var (silo, count, error) in cores)
            {
                if (count > 0)
                {
                    slots[silo] = count;
                }
                else
                {
                    leftOut[silo] = error ?? "it said it has no cores";
                }
            }
        }

        return new ClusterTrialExecutor(grains, membership, self, data.Train, stored, slots, leftOut, logger);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Silo {Silo} takes no trials of this tuning run: it did not say how many cores it has ({Error})")]
    private partial void LogSiloLeftOut(string silo, string error);
}
