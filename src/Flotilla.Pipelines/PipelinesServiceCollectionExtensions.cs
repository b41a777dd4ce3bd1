using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Flotilla.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Flotilla.Pipelines;

public static class PipelinesServiceCollectionExtensions
{
    /// <summary>
    /// Pipeline definitions, datasets, the execution engine and its worker pool (a hosted service that also
    /// resumes unfinished executions), and the built-in steps. Needs <see cref="StorageServiceCollectionExtensions.AddFlotillaStorage"/>
    /// (and the registry, for Register steps).
    /// </summary>
    public static IServiceCollection AddFlotillaPipelines(this IServiceCollection services, Action<PipelineOptions> configure)
    {
        services.AddOptions<PipelineOptions>().Configure(configure)
            .Validate(o => !string.IsNullOrWhiteSpace(o.DataDirectory), "Flotilla:DataDirectory must name a folder for execution work files.")
            .Validate(o => o.MaxConcurrentExecutions is >= 1 and <= 1024, "Flotilla:Pipelines:MaxConcurrentExecutions must be within 1..1024.")
            .Validate(o => string.IsNullOrWhiteSpace(o.ProcessUser) || ProcessAccount.Exists(o.ProcessUser),
                "Flotilla:Pipelines:ProcessUser names an account this machine does not have (or this is not Linux, where it works through setpriv); create the account or unset the setting.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddFlotillaMigrations(PipelineMigrations.All);
        services.AddSingleton<StepKind, ConditionStep>();
        services.AddSingleton<StepKind, FailStep>();
        services.AddSingleton<StepKind, ProcessStep>();
        services.AddSingleton<StepKind, PreprocessStep>();
        services.AddSingleton<StepKind, TuneStep>();
        services.AddSingleton<StepKind, TrainStep>();
        services.AddSingleton<StepKind, EvaluateStep>();
        services.AddSingleton<StepKind, RegisterStep>();
        services.AddSingleton<StepCatalog>();
        services.AddSingleton<PipelineCatalog>();
        services.AddSingleton<ExecutionStore>();
        services.AddSingleton<ExecutionQueue>();
        services.AddSingleton<ExecutionEvents>();
        services.AddSingleton<ExecutionRunner>();
        services.AddSingleton<Executions>();
        services.AddSingleton<DatasetCatalog>();
        services.AddOptions<DatasetSourceOptions>();
        services.AddSingleton<UrlPolicy>();
        services.AddHostedService<ImportsFolder>();
        services.AddHostedService<ExecutionWorker>();
        return services;
    }
}
