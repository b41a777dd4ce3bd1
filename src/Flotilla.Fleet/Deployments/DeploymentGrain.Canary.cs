using Flotilla.Fleet.Aliases;
using Flotilla.Fleet.Observability;
using Flotilla.Fleet.Rollout;
using Flotilla.Registry;
using Microsoft.Extensions.Logging;

namespace Flotilla.Fleet.Deployments;

/// <summary>
/// The canary side of the group's deployer. Being the group's one grain, it is the one driver of its rollout in the
/// whole cluster; every step is stored before it takes effect, so another activation (after a restart, on another
/// server) resumes at the stored step. The call counts of a step are read from every silo's counters, relative to
/// a baseline this activation took when the step began — or when it resumed, so a resumed step counts afresh.
/// </summary>
internal sealed partial class DeploymentGrain
{
    /// <summary>Who the registry and the audit log name for a rollback's rejection.</summary>
    public const string RolloutActor = "flotilla-rollout";

    private Dictionary<string, VersionWindow>? _baseline;
    private int _baselineStep = -1;

    public async Task<CanaryRollout?> AdvanceRolloutAsync(CancellationToken cancellationToken)
    {
        var rollout = await rollouts.InProgressAsync(_group, cancellationToken);
        if (rollout is null)
        {
            return null;
        }
        if (rollout.State == RolloutState.RollingBack)
        {
            return await FinishRollbackAsync(rollout, cancellationToken);
        }
        var canary = await registry.GetPackageAsync(rollout.PackageId, cancellationToken);
        var previous = rollout.PreviousVersion is { } pv ? await registry.GetPackageAsync(ModelRegistry.PackageId(_group, pv), cancellationToken) : null;
        if (canary?.ApprovalStatus != ApprovalStatus.Approved || previous?.ApprovalStatus != ApprovalStatus.Approved)
        {
            // Someone decided meanwhile (a rejection, a withdrawal): the rollout ends, and the registry's state decides the alias.
            var ended = await SaveAsync(rollout with
            {
                State = RolloutState.Cancelled,
                Reason = canary?.ApprovalStatus != ApprovalStatus.Approved
                    ? $"version {rollout.Version} became {canary?.ApprovalStatus.ToString() ?? "unknown"} during its canary"
                    : $"version {rollout.PreviousVersion} became {previous?.ApprovalStatus.ToString() ?? "unknown"} during the canary",
            });
            await ReconcileAsync(DeploymentReason.Rejection, cancellationToken);
            return ended;
        }

        var now = time.GetUtcNow();
        var totals = await TotalsAsync(cancellationToken);
        if (_baseline is null || _baselineStep != rollout.StepIndex)
        {
            TakeBaseline(totals, rollout.StepIndex);
            return rollout;
        }
        var since = rollout.StepStartedAt ?? now;
        var comparison = CanaryJudge.Judge(rollout.Plan, rollout.StepPercent,
            Window(totals, canary.Artifact.Sha256), Window(totals, previous.Artifact.Sha256),
            await live.GetAsync(_group, rollout.Version, cancellationToken),
            await live.GetAsync(_group, (int)previous.Version, cancellationToken),
            now);
        if (comparison.Verdict == CanaryVerdict.Worse)
        {
            LogRollingBack(_group, rollout.Version, comparison.Summary);
            return await FinishRollbackAsync(await SaveAsync(rollout with { State = RolloutState.RollingBack, Reason = comparison.Summary, Comparison = comparison }), cancellationToken);
        }
        if (comparison.Verdict == CanaryVerdict.Waiting || now - since < TimeSpan.FromSeconds(rollout.Plan.BakeSeconds))
        {
            return await SaveAsync(rollout with { Comparison = comparison });
        }

        var next = rollout.StepIndex + 1;
        var percent = rollout.Plan.Steps[next];
        var outcome = percent >= 100
            ? await MoveAsync(canary, DeploymentReason.Canary, cancellationToken)
            : await SplitCoreAsync([(previous, 100 - percent), (canary, percent)], null, null, 0, DeploymentReason.Canary, cancellationToken);
        if (!outcome.Deployed)
        {
            return await SaveAsync(rollout with { Comparison = comparison, Reason = outcome.Message });
        }
        TakeBaseline(totals, next);
        LogStep(_group, rollout.Version, percent);
        return await SaveAsync(rollout with
        {
            State = percent >= 100 ? RolloutState.Succeeded : RolloutState.Running,
            StepIndex = next,
            StepStartedAt = now,
            Comparison = comparison,
            Reason = percent >= 100 ? $"serves every call after {rollout.Plan.Steps.Count} steps; last: {comparison.Summary}" : null,
        });
    }

    /// <summary>
    /// Starts the planned canary of a newly approved <paramref name="latest"/> at its first step, beside the version
    /// served now; null when no canary was asked for it (the caller deploys it at once).
    /// </summary>
    private async Task<DeploymentOutcome?> TryStartCanaryAsync(ModelPackage latest, CancellationToken cancellationToken)
    {
        var rollout = await rollouts.GetAsync(_group, (int)latest.Version, cancellationToken);
        if (rollout is not { State: RolloutState.Planned })
        {
            return null;
        }
        var previous = _current is null ? null : await registry.GetPackageAsync(_current.PackageId, cancellationToken);
        if (previous is null || rollout.Plan.Steps[0] >= 100)
        {
            var outcome = await MoveAsync(latest, DeploymentReason.Approval, cancellationToken);
            await SaveAsync(rollout with
            {
                State = outcome.Deployed ? RolloutState.Succeeded : RolloutState.Cancelled,
                Reason = previous is null ? "nothing was served before it: deployed to every call at once" : outcome.Message,
            });
            return outcome;
        }
        await EndRolloutAsync(RolloutState.Cancelled, $"version {latest.Version} was approved with its own canary", except: (int)latest.Version, cancellationToken);
        var percent = rollout.Plan.Steps[0];
        var split = await SplitCoreAsync([(previous, 100 - percent), (latest, percent)], null, null, 0, DeploymentReason.Canary, cancellationToken);
        if (!split.Deployed)
        {
            await SaveAsync(rollout with { State = RolloutState.Cancelled, Reason = split.Message });
            return split;
        }
        TakeBaseline(await TotalsAsync(cancellationToken), 0);
        await SaveAsync(rollout with { State = RolloutState.Running, PreviousVersion = (int)previous.Version, StepIndex = 0, StepStartedAt = time.GetUtcNow() });
        LogStep(_group, (int)latest.Version, percent);
        return split with { Message = $"Group '{_group}' starts a canary of version {latest.Version} at {percent} % beside version {previous.Version}." };
    }

    /// <summary>
    /// Rejects the canary in the registry (its reason as the description), then gives every call back to the previous
    /// version. In this order, a crash between the two still converges: the rejection's event moves the alias too.
    /// </summary>
    private async Task<CanaryRollout> FinishRollbackAsync(CanaryRollout rollout, CancellationToken cancellationToken)
    {
        var canary = await registry.GetPackageAsync(rollout.PackageId, cancellationToken);
        if (canary?.ApprovalStatus == ApprovalStatus.Approved)
        {
            await registry.UpdateApprovalStatusAsync(canary.Id, ApprovalStatus.Rejected, rollout.Reason, RolloutActor, CancellationToken.None);
        }
        var previous = rollout.PreviousVersion is { } pv ? await registry.GetPackageAsync(ModelRegistry.PackageId(_group, pv), cancellationToken) : null;
        if (previous is not null && !(previous.Id == _current?.PackageId && _current.Policy is null))
        {
            await MoveAsync(previous, DeploymentReason.Rollback, cancellationToken);
        }
        _baseline = null;
        return await SaveAsync(rollout with { State = RolloutState.RolledBack });
    }

    /// <summary>Ends the group's rollout in progress (other than <paramref name="except"/>'s) without a verdict.</summary>
    private async Task EndRolloutAsync(RolloutState state, string reason, int? except, CancellationToken cancellationToken)
    {
        if (await rollouts.InProgressAsync(_group, cancellationToken) is { } running && running.Version != except)
        {
            await SaveAsync(running with { State = state, Reason = reason });
            _baseline = null;
        }
    }

    private async Task<CanaryRollout> SaveAsync(CanaryRollout rollout)
    {
        await rollouts.SaveAsync(rollout, CancellationToken.None);
        return rollout;
    }

    private void TakeBaseline(Dictionary<string, VersionWindow> totals, int step)
    {
        _baseline = totals;
        _baselineStep = step;
    }

    /// <summary>Every model's answered and failed calls and latency, summed over the fleet's silos.</summary>
    private async Task<Dictionary<string, VersionWindow>> TotalsAsync(CancellationToken cancellationToken)
    {
        var silos = await fleet.SilosAsync(cancellationToken);
        return silos.SelectMany(s => s.Stats)
            .GroupBy(m => m.ArtifactSha256, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g =>
            {
                var sum = g.Aggregate((a, b) => a.Add(b));
                return new VersionWindow(sum.Invocations, sum.Failures, sum.FineLatencyCounts ?? new long[LatencyHistogram.BucketCount]);
            }, StringComparer.Ordinal);
    }

    /// <summary>One artifact's calls since the baseline; a silo that restarted meanwhile can only make the window smaller, never negative.</summary>
    private VersionWindow Window(Dictionary<string, VersionWindow> totals, string artifactSha256)
    {
        var now = totals.GetValueOrDefault(artifactSha256) ?? new VersionWindow(0, 0, new long[LatencyHistogram.BucketCount]);
        var then = _baseline?.GetValueOrDefault(artifactSha256);
        if (then is null)
        {
            return now;
        }
        var latency = LatencyHistogram.Subtract(now.Latency, then.Latency);
        for (var i = 0; i < latency.Length; i++)
        {
            latency[i] = Math.Max(0, latency[i]);
        }
        return new VersionWindow(Math.Max(0, now.Answered - then.Answered), Math.Max(0, now.Failed - then.Failed), latency);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {Group}: canary of version {Version} at {Percent} %")]
    private partial void LogStep(string group, int version, int percent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: rolling back the canary of version {Version}: {Reason}")]
    private partial void LogRollingBack(string group, int version, string reason);
}
