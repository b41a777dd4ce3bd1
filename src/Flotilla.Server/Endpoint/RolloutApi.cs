using Flotilla.Fleet;
using Flotilla.Fleet.Rollout;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Server.Identity;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Flotilla.Server.Endpoint;

/// <summary>
/// Canary rollouts at the edge: the plan an approval carries (<c>PATCH /api/registry/packages/{id}</c> with
/// <c>"rollout"</c>), <c>GET /api/endpoint/groups/{group}/rollout</c>, and the audit entry of a rollback.
/// </summary>
internal static class RolloutApi
{
    public static IEndpointRouteBuilder MapRolloutApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/endpoint/groups/{group}/rollout", async Task<Results<Ok<Contracts.CanaryRollout>, ProblemHttpResult>> (
            string group, RolloutStore rollouts, CancellationToken cancellationToken) =>
            await rollouts.LatestAsync(group, cancellationToken) is { } rollout
                ? TypedResults.Ok(rollout.ToContract())
                : TypedResults.Problem($"Group '{group}' has had no canary rollout; start one by approving a version with \"rollout\": {{\"strategy\": \"canary\", \"steps\": [10, 50, 100]}}.",
                    statusCode: StatusCodes.Status404NotFound, title: "No rollout"))
            .WithName("GetRollout")
            .WithSummary("The group's latest canary rollout: plan, state, step, the latest comparison with the previous version and the reason it ended.")
            .RequireAuthorization(Roles.Viewer);
        return app;
    }

    /// <summary>
    /// Stores the plan of a canary approval before the approval itself, so the deployer finds it when the approval's
    /// event arrives. A refusal names what is wrong; null when the plan is stored.
    /// </summary>
    public static async Task<ProblemHttpResult?> PlanAsync(
        string packageId, ApprovalStatus status, Contracts.RolloutRequest body, string who, ModelRegistry registry, FleetClient fleet, RolloutStore rollouts,
        CancellationToken cancellationToken)
    {
        if (status != ApprovalStatus.Approved)
        {
            return Bad($"rollout goes with \"approvalStatus\": \"Approved\" (was {status}).");
        }
        if (!string.Equals(body.Strategy, "canary", StringComparison.OrdinalIgnoreCase))
        {
            return Bad($"rollout.strategy '{body.Strategy}' is not known; use \"canary\".");
        }
        var plan = body.ToPlan();
        if (plan.Problem() is { } problem)
        {
            return Bad(problem);
        }
        if (await registry.GetPackageAsync(packageId, cancellationToken) is not { } package)
        {
            return null; // the approval itself answers 404
        }
        if (package.ApprovalStatus != ApprovalStatus.PendingManualApproval)
        {
            return TypedResults.Problem($"{packageId} is {package.ApprovalStatus}; a canary starts with the approval of a version pending approval.",
                statusCode: StatusCodes.Status409Conflict, title: "Invalid approval status change");
        }
        if (!fleet.TryGetDeployment(package.Group, out _))
        {
            return TypedResults.Problem(
                $"Group '{package.Group}' serves no version yet, so a canary has nothing to be compared with; approve {packageId} without \"rollout\".",
                statusCode: StatusCodes.Status409Conflict, title: "Nothing to compare with");
        }
        await rollouts.PlanAsync(package.Group, (int)package.Version, package.Id, plan, who, cancellationToken);
        return null;

        static ProblemHttpResult Bad(string detail) => TypedResults.Problem(detail, statusCode: StatusCodes.Status400BadRequest, title: "Invalid rollout");
    }
}

/// <summary>The rollout records as the API answers them, and a requested plan with the defaults of <see cref="RolloutPlan"/>.</summary>
internal static class RolloutContracts
{
    public const int DefaultBakeSeconds = 300;

    public static RolloutPlan ToPlan(this Contracts.RolloutRequest r) => new(
        r.Steps ?? [10, 50, 100],
        r.BakeSeconds ?? DefaultBakeSeconds,
        r.MinCalls ?? RolloutPlan.DefaultMinCalls,
        r.MaxErrorRateIncrease ?? RolloutPlan.DefaultMaxErrorRateIncrease,
        r.MaxP99Ratio ?? RolloutPlan.DefaultMaxP99Ratio,
        r.MaxAucDrop ?? RolloutPlan.DefaultMaxAucDrop,
        r.MinLabelledAnswers ?? RolloutPlan.DefaultMinLabelledAnswers,
        r.MinP99IncreaseMilliseconds ?? RolloutPlan.DefaultMinP99IncreaseMilliseconds);

    public static Contracts.CanaryRollout ToContract(this CanaryRollout r) => new(
        r.Group, r.Version, r.PackageId, r.PreviousVersion,
        new(r.Plan.Steps, r.Plan.BakeSeconds, r.Plan.MinCalls, r.Plan.MaxErrorRateIncrease, r.Plan.MaxP99Ratio, r.Plan.MaxAucDrop,
            r.Plan.MinLabelledAnswers, r.Plan.MinP99IncreaseMilliseconds),
        (Contracts.RolloutState)r.State, r.StepIndex, r.StepStartedAt, r.Reason,
        r.Comparison is { } c
            ? new(c.StepPercent, (Contracts.CanaryVerdict)c.Verdict, c.Summary, c.CanaryCalls, c.CanaryErrorRate, c.CanaryP99Milliseconds,
                c.PreviousCalls, c.PreviousErrorRate, c.PreviousP99Milliseconds, c.CanaryAuc, c.PreviousAuc, c.At)
            : null,
        r.CreatedBy, r.CreatedAt, r.UpdatedAt, r.StepPercent, r.Active);
}

/// <summary>
/// Writes the audit entry of a registry change the rollout made itself (a canary's rejection): the audit log
/// otherwise sees only HTTP requests, and the rollback was nobody's request.
/// </summary>
internal sealed class RolloutAudit(AuditLog audit) : IRegistryEventSubscriber
{
    public Task HandleAsync(ApprovalStatusChanged @event, CancellationToken cancellationToken) =>
        @event.ChangedBy == Fleet.Deployments.DeploymentGrain.RolloutActor
            ? audit.RecordAsync(@event.ChangedBy, @event.ChangedBy, [], $"ROLLBACK canary ({@event.OldStatus} -> {@event.NewStatus})", @event.PackageId,
                $"/api/registry/packages/{@event.PackageId}", StatusCodes.Status200OK, "", anonymousRefusal: false, cancellationToken)
            : Task.CompletedTask;
}
