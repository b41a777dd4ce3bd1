using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Flotilla.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="MetadataStore"/> (PostgreSQL when a connection string is configured, else the SQLite
    /// file <c>&lt;DataDirectory&gt;/flotilla.db</c>) and <see cref="IArtifactStore"/> (S3 when a bucket is configured,
    /// else the folder <c>&lt;DataDirectory&gt;/artifacts</c>), and migrates the schema at start-up.
    /// </summary>
    public static IServiceCollection AddFlotillaStorage(this IServiceCollection services, Action<StorageOptions> configure)
    {
        services.AddOptions<StorageOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<MetadataStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            var migrations = sp.GetServices<Migration>();
            var time = sp.GetRequiredService<TimeProvider>();
            return string.IsNullOrWhiteSpace(options.PostgresConnectionString)
                ? new SqliteMetadataStore(options.SqlitePath, migrations, time)
                : new PostgresMetadataStore(options.PostgresConnectionString, migrations, time);
        });
        services.AddSingleton<IArtifactStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<StorageOptions>>().Value;
            return string.IsNullOrWhiteSpace(options.S3.Bucket)
                ? new FolderArtifactStore(options.ArtifactDirectory)
                : new S3ArtifactStore(options.S3);
        });
        services.AddSingleton(sp => new ArtifactCache(sp.GetRequiredService<IArtifactStore>(), sp.GetRequiredService<IOptions<StorageOptions>>().Value.CacheDirectory));
        services.AddSingleton(sp => new S3ObjectSource(sp.GetRequiredService<IOptions<StorageOptions>>().Value.S3));
        services.AddHostedService<SchemaMigrator>();
        return services;
    }

    /// <summary>Adds a component's migrations; they are applied in the order components were added.</summary>
    public static IServiceCollection AddFlotillaMigrations(this IServiceCollection services, params IEnumerable<Migration> migrations)
    {
        foreach (var migration in migrations)
            services.AddSingleton(migration);
        return services;
    }

    /// <summary>Migrates at boot so a bad schema fails the start, not the first request.</summary>
    private sealed class SchemaMigrator(MetadataStore store) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => store.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
