using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Autoscaling;

/// <summary>The autoscaler's latest decision, for <c>GET /api/endpoint</c> and <c>/metrics</c>; null until the first one.</summary>
public sealed class AutoscalerStatus
{
    private AutoscaleDecision? _last;

    public AutoscaleDecision? Last
    {
        get => Volatile.Read(ref _last);
        internal set => Volatile.Write(ref _last, value);
    }
}

/// <summary>
/// Samples the fleet's invocation counters every <see cref="AutoscalerOptions.Interval"/>, asks
/// <see cref="AutoscalePolicy"/> for the desired instance count and has the <see cref="IInstanceScaler"/> act.
/// A desired count already requested is not requested again while instances join or leave.
/// </summary>
public sealed partial class Autoscaler(
    Func<CancellationToken, Task<IReadOnlyDictionary<string, long>>> readCounters,
    IInstanceScaler scaler,
    AutoscalerStatus status,
    IOptions<AutoscalerOptions> options,
    TimeProvider time,
    ILogger<Autoscaler> logger) : BackgroundService
{
    private readonly AutoscalePolicy _policy = new(options.Value);
    private readonly InvocationRate _rate = new();
    private List<AutoscaleDecision> _history = [];
    private int? _requested;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        await SampleAsync(stoppingToken);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await SampleAsync(stoppingToken);
        }
    }

    /// <summary>One sample and, from the second on, one decision.</summary>
    public async Task SampleAsync(CancellationToken cancellationToken)
    {
        try
        {
            var counters = await readCounters(cancellationToken);
            var now = time.GetUtcNow();
            if (_rate.Observe(counters, now) is not { } rate)
            {
                return;
            }
            var decision = _policy.Decide(counters.Count, rate, now, _history);
            _history.Add(decision);
            _history = _policy.Trim(_history, now);
            status.Last = decision;
            LogDecision(decision.Current, decision.Desired, decision.RatePerInstance, decision.Reason);
            if (decision.Desired == decision.Current)
            {
                _requested = null;
            }
            else if (decision.Desired != _requested)
            {
                await scaler.ScaleAsync(decision.Current, decision.Desired, cancellationToken);
                _requested = decision.Desired;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A failed sample or scale is retried at the next interval; the fleet keeps serving meanwhile.
            LogFailed(e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Autoscaler: {Current} instances, desired {Desired} at {RatePerInstance:0.##} invocations/s per instance ({Reason})")]
    private partial void LogDecision(int current, int desired, double ratePerInstance, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Autoscaler sample or scaling failed; retrying at the next interval")]
    private partial void LogFailed(Exception exception);
}

public static class AutoscalerServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="AutoscalerStatus"/> always and, when <paramref name="options"/> is enabled, the
    /// autoscaler with a <see cref="LocalProcessScaler"/> joining children to <paramref name="cluster"/>.
    /// Enabled without a cluster (embedded shape) fails here, at boot, saying why.
    /// </summary>
    public static IServiceCollection AddFlotillaAutoscaler(this IServiceCollection services, AutoscalerOptions options, ClusterJoin? cluster)
    {
        services.TryAddSingleton<AutoscalerStatus>();
        if (!options.Enabled)
        {
            return services;
        }
        if (cluster is null)
        {
            throw new InvalidOperationException(
                $"{AutoscalerOptions.Section}:Enabled needs the cluster shape (Flotilla:Shape=Cluster with Flotilla:PostgresConnectionString): " +
                "added instances join through the shared PostgreSQL database. Disable the autoscaler or run in the cluster shape.");
        }
        services.AddOptions<AutoscalerOptions>().BindConfiguration(AutoscalerOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AutoscalerOptions>, AutoscalerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(cluster);
        services.AddSingleton<LocalProcessScaler>();
        services.AddSingleton<IInstanceScaler>(sp => sp.GetRequiredService<LocalProcessScaler>());
        services.AddHostedService(sp =>
        {
            var fleet = sp.GetRequiredService<FleetClient>();
            return new Autoscaler(
                async ct => (await fleet.SilosAsync(ct)).Where(s => s.Error is null)
                    .ToDictionary(s => s.Silo, s => s.Stats.Sum(m => m.Invocations), StringComparer.Ordinal),
                sp.GetRequiredService<IInstanceScaler>(),
                sp.GetRequiredService<AutoscalerStatus>(),
                sp.GetRequiredService<IOptions<AutoscalerOptions>>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<Autoscaler>>());
        });
        return services;
    }
}
