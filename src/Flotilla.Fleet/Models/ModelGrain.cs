using System.Diagnostics;
using Flotilla.Fleet.Hosting;
using Flotilla.Fleet.Observability;
using Flotilla.Learning.Artifacts;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Logging;
using Orleans.GrainDirectory;

namespace Flotilla.Fleet.Models;

/// <summary>
/// Holds one loaded model. It loads on the first call (from the artifact store, hash verified), admits itself
/// to the silo's <see cref="ModelBudget"/> (evicting least recently used models), and deactivates when evicted.
/// Placed on the silo its key names (<see cref="ModelPlacement"/>).
/// </summary>
[ModelPlacement, GrainDirectory(PinnedGrainDirectory.Name)]
internal sealed partial class ModelGrain(
    IGrainContext context,
    IArtifactStore artifacts,
    ModelBudget budget,
    LocalModels local,
    FleetMetrics metrics,
    IModelScorer scorer,
    ILogger<ModelGrain> logger) : IGrainBase, IModelGrain
{
    private readonly string _sha256 = ModelKey.Sha256Of(context.GrainId.Key.ToString()!);
    private readonly FleetMetrics.ModelCounters _counters = metrics.For(ModelKey.Sha256Of(context.GrainId.Key.ToString()!));
    private LoadedModel? _model;
    private ModelBudget.Entry? _entry;
    private bool _evicted;

    public IGrainContext GrainContext => context;

    public async Task<InvocationResult> InvokeAsync(InvocationRequest request)
    {
        if (_model is null)
        {
            _counters.Miss();
            var failure = await LoadAsync(CancellationToken.None);
            if (failure is not null)
            {
                return failure;
            }
        }
        else
        {
            _counters.Hit();
            budget.Touch(_entry!);
        }
        return scorer.Score(_sha256, _model!, request);
    }

    public async Task<ModelState> WarmAsync(CancellationToken cancellationToken)
    {
        var failure = _model is null ? await LoadAsync(cancellationToken) : null;
        return new ModelState(_sha256, failure is null, failure?.Outcome ?? InvocationOutcome.Scored, failure?.Error,
            context.Address.SiloAddress!.ToString(), _entry?.Bytes ?? 0);
    }

    public Task OnDeactivateAsync(DeactivationReason reason, CancellationToken token)
    {
        if (_entry is not null)
        {
            local.Remove(_sha256, _entry);
            budget.Release(_entry);
            if (_evicted)
            {
                _counters.Evicted();
            }
        }
        _model = null;
        return Task.CompletedTask;
    }

    private async Task<InvocationResult?> LoadAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            byte[] bytes;
            await using (var stream = await artifacts.OpenReadAsync(_sha256, cancellationToken))
            {
                if (stream.CanSeek && stream.Length > budget.CapacityBytes)
                {
                    throw new ModelTooLargeException(_sha256, stream.Length, budget.CapacityBytes);
                }
                using var copy = new MemoryStream(stream.CanSeek ? (int)stream.Length : 0);
                await stream.CopyToAsync(copy, cancellationToken);
                bytes = copy.ToArray();
            }
            var model = ModelArtifact.Load(bytes, _sha256);
            (_entry, var evicted) = budget.Admit(_sha256, model.ApproximateBytes, Evict);
            _model = model;
            local.Add(_sha256, model, _entry);
            var elapsed = Stopwatch.GetTimestamp() - started;
            _counters.Loaded(elapsed);
            LogLoaded(_sha256, model.ApproximateBytes, elapsed * 1000.0 / Stopwatch.Frequency, evicted.Count);
            return null;
        }
        catch (ArtifactNotFoundException)
        {
            return Refuse(InvocationOutcome.UnknownModel, $"No model artifact {_sha256} exists in the artifact store.");
        }
        catch (ModelTooLargeException e)
        {
            return Refuse(InvocationOutcome.Unavailable, e.Message);
        }
        catch (ArtifactException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be loaded: {e.Message}");
        }
        catch (ArtifactIntegrityException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be loaded: {e.Message}");
        }
        catch (IOException e)
        {
            return Refuse(InvocationOutcome.Unavailable, $"Model {_sha256} cannot be read from the artifact store: {e.Message}");
        }
    }

    /// <summary>A failed load leaves nothing behind: the activation goes, so a later call tries again.</summary>
    private InvocationResult Refuse(InvocationOutcome outcome, string reason)
    {
        _counters.LoadFailed();
        LogRefused(_sha256, reason);
        this.DeactivateOnIdle();
        return InvocationResult.Failed(outcome, reason);
    }

    /// <summary>Called by the budget, possibly from another grain's turn: deactivation is thread-safe and waits for calls in flight.</summary>
    private void Evict()
    {
        _evicted = true;
        if (_entry is not null)
        {
            local.Remove(_sha256, _entry);
        }
        context.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "evicted to stay within the silo's memory budget"), CancellationToken.None);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded model {Sha256}: {Bytes} bytes in {Milliseconds:F1} ms, {Evicted} evicted to make room")]
    private partial void LogLoaded(string sha256, long bytes, double milliseconds, int evicted);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused to load model {Sha256}: {Reason}")]
    private partial void LogRefused(string sha256, string reason);
}
