using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Monitoring;

public static class MonitoringServiceCollectionExtensions
{
    /// <summary>The live monitor every silo scores through, and the client that merges what the silos saw.</summary>
    public static IServiceCollection AddFlotillaMonitoring(this IServiceCollection services)
    {
        services.AddOptions<MonitoringOptions>().BindConfiguration(MonitoringOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MonitoringOptions>, MonitoringOptionsValidator>());
        services.AddSingleton<LiveMonitor>();
        services.AddSingleton<MonitorClient>();
        services.AddSingleton<ILiveModelMetrics>(sp => sp.GetRequiredService<MonitorClient>());
        return services;
    }
}

/// <summary>The attributes and cross-checks of <see cref="MonitoringOptions"/>, each failure naming its setting.</summary>
internal sealed class MonitoringOptionsValidator : IValidateOptions<MonitoringOptions>
{
    public ValidateOptionsResult Validate(string? name, MonitoringOptions options)
    {
        var results = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(results.Select(r => $"{MonitoringOptions.Section}:{r.MemberNames.FirstOrDefault()}: {r.ErrorMessage}"));
    }
}
