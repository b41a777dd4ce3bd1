using System.Text.Json.Nodes;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Flotilla.Pipelines.Storage;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Execution;

/// <summary>The door to executions: start, stop, read, follow. The HTTP API and tests go through here.</summary>
public sealed class Executions(
    PipelineCatalog pipelines, StepCatalog steps, DatasetCatalog datasets, ExecutionStore store, ExecutionQueue queue, ExecutionEvents events,
    IOptions<PipelineOptions> options)
{
    /// <summary>
    /// Validates the parameters (unknown names and bad values refused with <see cref="ParameterException"/>),
    /// records the execution and its steps, and queues it. Returns the new execution's id.
    /// </summary>
    public async Task<string> StartAsync(string pipeline, IReadOnlyDictionary<string, JsonNode?>? parameters, CancellationToken ct)
    {
        var stored = await pipelines.GetAsync(pipeline, ct);
        // A pipeline stored while Process steps were allowed must not run after they were switched off.
        ProcessStep.EnsureAllowed(stored.Definition, options.Value);
        var bound = ParameterBinder.Bind(stored.Definition, parameters);
        await CheckDatasetsAsync(stored.Definition, bound, ct);
        var id = Guid.CreateVersion7().ToString("N");
        await store.CreateExecutionAsync(id, stored.Definition.Name, stored.Source, bound, stored.Definition.Steps.Select(s => (s.Name, s.Type)), ct);
        queue.Enqueue(id);
        return id;
    }

    // A dataset that is not registered would only fail the first step; refuse the start instead, naming the parameter.
    private async Task CheckDatasetsAsync(PipelineDefinition definition, JsonObject bound, CancellationToken ct)
    {
        var errors = new List<DefinitionError>();
        var parameters = definition.Steps
            .Where(s => steps.Find(s.Type) is PreprocessStep && s.Inputs.GetValueOrDefault("dataset") is ParameterReference)
            .Select(s => definition.FindParameter(((ParameterReference)s.Inputs["dataset"]).Parameter)!.Name)
            .Distinct();
        foreach (var name in parameters)
        {
            var dataset = ValueResolver.AsText(bound[name]);
            if (await datasets.FindAsync(dataset, ct) is null)
            {
                errors.Add(new(name, $"No dataset named '{dataset}'. Register it first: POST /api/datasets or `flotilla dataset add {dataset} --csv PATH --target COLUMN`."));
            }
        }
        if (errors.Count > 0)
        {
            throw new ParameterException(errors);
        }
    }

    /// <summary>Asks a running execution to stop; its running steps are cancelled and it ends Stopped.</summary>
    public async Task<ExecutionDetail> StopAsync(string id, CancellationToken ct)
    {
        var current = await GetAsync(id, ct);
        if (current.IsFinished)
        {
            throw new ConflictException($"Execution {id} already ended {current.Status}; only an executing execution can be stopped.");
        }

        if (await store.RequestStopAsync(id, ct))
        {
            events.Publish(new("execution", id, Status: ExecutionStatus.Stopping.ToString()));
        }
        queue.SignalStop(id);
        return await GetAsync(id, ct);
    }

    public async Task<ExecutionDetail> GetAsync(string id, CancellationToken ct) =>
        await store.GetAsync(id, ct) ?? throw new NotFoundException($"No execution with id '{id}'. GET /api/executions lists them.");

    public Task<IReadOnlyList<ExecutionSummary>> ListAsync(string? pipeline, ExecutionStatus? status, int limit, CancellationToken ct) =>
        store.ListAsync(pipeline, status, Math.Clamp(limit, 1, 1000), ct);

    public async Task<IReadOnlyList<ExecutionTrial>> TrialsAsync(string id, CancellationToken ct)
    {
        await GetAsync(id, ct);
        return await store.GetTrialsAsync(id, null, ct);
    }

    /// <inheritdoc cref="ExecutionEvents.SubscribeAsync"/>
    public Task<ExecutionEvents.Subscription> SubscribeAsync(string id, CancellationToken ct) => events.SubscribeAsync(id, ct);

    /// <summary>Waits until the execution ends; reads the store on every event and at least every second.</summary>
    public async Task<ExecutionDetail> WaitAsync(string id, CancellationToken ct)
    {
        using var subscription = await events.SubscribeAsync(id, ct);
        while (true)
        {
            var current = await GetAsync(id, ct);
            if (current.IsFinished)
            {
                return current;
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
            tick.CancelAfter(TimeSpan.FromSeconds(1));
            try
            {
                await subscription.Reader.WaitToReadAsync(tick.Token);
                while (subscription.Reader.TryRead(out _))
                {
                }
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The periodic re-read: covers an execution finished by another process.
            }
        }
    }
}
