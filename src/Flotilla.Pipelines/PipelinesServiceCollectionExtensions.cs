using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Flotilla.Storage;
using Flotilla.Tuning;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        services.AddOptions<PipelineOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<PipelineOptions>, PipelineDataDirectory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PipelineOptions>, PipelineOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddFlotillaMigrations(PipelineMigrations.All);
        services.AddSingleton<StepKind, ConditionStep>();
        services.AddSingleton<StepKind, FailStep>();
        services.AddSingleton<StepKind, ProcessStep>();
        services.AddSingleton<StepKind, PreprocessStep>();
        // A server with a fleet registers its own (trials on every silo); without one, trials run in this process.
        services.TryAddSingleton<ITrialExecutorFactory, InProcessTrialExecutors>();
        services.AddSingleton<StepKind, TuneStep>();
        services.AddSingleton<StepKind, TrainStep>();
        services.AddSingleton<StepKind, EvaluateStep>();
        // A server with an endpoint registers its own (the alias map); without one, nothing is served.
        services.TryAddSingleton<IServedModels, NoServedModels>();
        services.AddSingleton<StepKind, RegisterStep>();
        services.AddSingleton<StepCatalog>();
        services.AddSingleton<PipelineCatalog>();
        services.AddSingleton<ExecutionStore>();
        services.AddSingleton<ExecutionQueue>();
        services.AddSingleton<ExecutionEvents>();
        services.AddSingleton<StepOutputFiles>();
        services.AddSingleton<StepRunner>();
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
