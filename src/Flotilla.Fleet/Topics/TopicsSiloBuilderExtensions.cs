using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Topics;

public static class TopicsSiloBuilderExtensions
{
    /// <summary>
    /// Topics between the silos (<see cref="ClusterTopics"/>), with the renewal of this silo's watches. Needs
    /// <see cref="Hosting.FleetSiloBuilderExtensions.AddFlotillaFleet"/> (the placement that reaches a given silo).
    /// </summary>
    public static ISiloBuilder AddFlotillaTopics(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton<ClusterTopics>();
        silo.Services.AddHostedService(sp => sp.GetRequiredService<ClusterTopics>());
        return silo;
    }
}
