using Flotilla.Fleet.Monitoring;
using Flotilla.Learning.Artifacts;

namespace Flotilla.Fleet.Models;

/// <summary>
/// Scores an invocation with a loaded model, for the front door's co-located path and the model grain alike. The
/// seam exists so a test host can wrap the shipped scorer (inject errors or latency for one artifact) while the
/// artifacts stay plain models; the shipped server registers <see cref="ModelScorer"/> only.
/// </summary>
public interface IModelScorer
{
    InvocationResult Score(string artifactSha256, LoadedModel model, InvocationRequest request);
}

/// <summary>
/// The shipped scorer: the model's own prediction and formatting, every call seen by this silo's
/// <see cref="LiveMonitor"/> (drift window, recent predictions for feedback) — whatever route or split chose the
/// model — except a shadow copy (<see cref="InvocationRequest.Shadow"/>), whose rows the answering version counted.
/// </summary>
public sealed class ModelScorer(LiveMonitor monitor) : IModelScorer
{
    public InvocationResult Score(string artifactSha256, LoadedModel model, InvocationRequest request) => ModelScoring.Score(model, request, monitor);
}
