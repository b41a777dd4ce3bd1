namespace Flotilla.Contracts;

/// <summary>The body of <c>GET /api/endpoint</c>: aliases, instances, the models they hold and the fleet's totals.</summary>
public sealed record EndpointView(
    IReadOnlyList<AliasView> Aliases,
    IReadOnlyList<InstanceView> Instances,
    IReadOnlyList<ModelView> Models,
    EndpointTotals Totals,
    AutoscalerView? Autoscaler = null,
    IReadOnlyList<ShadowView>? Shadows = null,
    IReadOnlyList<CanaryRollout>? Rollouts = null);

/// <summary>
/// An alias; for a split, <see cref="Routes"/> lists every version with its weight (Version is the heaviest);
/// <see cref="Shadow"/> is the version scoring copies of its calls, when it has one.
/// </summary>
public sealed record AliasView(
    string Group, string PackageId, int Version, string ArtifactSha256, DateTimeOffset DeployedAt,
    IReadOnlyList<Route>? Routes, string? StickyHeader, ShadowRoute? Shadow = null);

/// <summary>One approved version of a split alias and its share of the calls (weight out of the routes' total).</summary>
public sealed record Route(int Version, string PackageId, string ArtifactSha256, int Weight);

/// <summary>
/// A version (approved or still pending) that sees a copy of <see cref="Percent"/> % of a group's calls, scored after
/// the caller has its answer and compared with it; it never answers.
/// </summary>
public sealed record ShadowRoute(int Version, string PackageId, string ArtifactSha256, int Percent);

public sealed record InstanceView(string Silo, int ModelsLoaded, long BytesInUse, long BudgetBytes, IReadOnlyList<LoadedView> Models, string? Error);

public sealed record LoadedView(string ArtifactSha256, long Bytes);

public sealed record ModelView(
    string ArtifactSha256,
    IReadOnlyList<string> Groups,
    IReadOnlyList<string> LoadedOn,
    string Home,
    long Hits,
    long Misses,
    long Loads,
    long LoadFailures,
    long Evictions,
    double LastLoadMilliseconds,
    long Invocations,
    double MeanLatencyMilliseconds,
    double P50LatencyMilliseconds,
    double P99LatencyMilliseconds,
    long Failures)
{
    /// <summary>Silos holding a copy: its home, a standby when it is deployed, and the doors' silos once it is hot.</summary>
    public int Copies => LoadedOn.Count;
}

public sealed record EndpointTotals(int Instances, int ModelsLoaded, long BytesInUse, long BudgetBytes, long Hits, long Misses, long Loads, long Evictions);

/// <summary>The autoscaler's latest decision; absent when it is off or has not decided yet.</summary>
public sealed record AutoscalerView(int Current, int Desired, double RatePerInstance, string Reason, DateTimeOffset At);

/// <summary>
/// <c>PUT /api/endpoint/aliases/{group}</c>: <c>{"version": n}</c> pins one version, or <c>{"routes": [{"version",
/// "weight"}], "stickyHeader"?}</c> splits the calls; either may add <c>"shadow": {"version", "percent"}</c>, and a
/// shadow alone keeps the alias's routes.
/// </summary>
public sealed record PinRequest(int? Version, IReadOnlyList<RouteWeight>? Routes = null, string? StickyHeader = null, ShadowWeight? Shadow = null);

public sealed record RouteWeight(int Version, int Weight);

/// <summary>A requested shadow: the version that scores copies and the percent of the calls copied to it.</summary>
public sealed record ShadowWeight(int Version, int Percent);

/// <summary>A group's alias: the version it names, with the split when there is one.</summary>
public sealed record Deployment(
    string Group, string PackageId, int Version, string ArtifactSha256, DateTimeOffset DeployedAt, long Revision, TrafficPolicy? Policy);

public sealed record TrafficPolicy(IReadOnlyList<Route> Routes, string? StickyHeader, ShadowRoute? Shadow = null);

/// <summary>The answer of a pin or split: what is deployed now (<see cref="Changed"/> false when it already was).</summary>
public sealed record DeploymentOutcome(bool Deployed, bool Changed, bool NotFound, string Message, Deployment? Current);

/// <summary>
/// The JSON answer of the three invocation doors: one prediction per row, in order, the group's version that
/// scored them (null when called by artifact hash) and the request id when the caller sent one.
/// </summary>
public sealed record InvocationAnswer(IReadOnlyList<Prediction> Predictions, int? Version, string? RequestId = null);

public sealed record Prediction(string Label, double Probability);

/// <summary><c>POST /invoke</c>: the reference's payload, <c>"&lt;pipeline&gt;-&lt;dataset&gt;"</c> and CSV rows without a header.</summary>
public sealed record InvokeRequest(string Model, string Data);
