using Flotilla.Registry.Events;
using Flotilla.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Flotilla.Registry;

public static class RegistryServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="ModelRegistry"/>, its tables and the <see cref="OutboxDispatcher"/> (a hosted service,
    /// also resolvable as itself). Needs <c>AddFlotillaStorage</c>. Subscribers register as
    /// <c>services.AddSingleton&lt;IRegistryEventSubscriber, T&gt;()</c>.
    /// </summary>
    public static IServiceCollection AddFlotillaRegistry(this IServiceCollection services, Action<OutboxOptions>? configureOutbox = null)
    {
        services.AddFlotillaMigrations(RegistrySchema.Migrations);
        services.AddOptions<OutboxOptions>().Configure(o => configureOutbox?.Invoke(o)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<OutboxOptions>, OutboxOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<ModelRegistry>();
        services.AddSingleton<OutboxDispatcher>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<OutboxDispatcher>());
        return services;
    }
}
