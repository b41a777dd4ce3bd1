using Flotilla.Tuning;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Trials;

public static class TrialWorkersSiloBuilderExtensions
{
    /// <summary>
    /// Makes this silo a trial worker and tuning runs started on it spread their trials over every active silo
    /// (<see cref="ITrialExecutorFactory"/>). Needs <see cref="Hosting.FleetSiloBuilderExtensions.AddFlotillaFleet"/>
    /// (the placement that reaches a given silo) and the artifact store.
    /// </summary>
    public static ISiloBuilder AddFlotillaTrialWorkers(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton<TrialDataCache>();
        silo.Services.AddSingleton<ITrialExecutorFactory, FleetTrialExecutors>();
        return silo;
    }
}
