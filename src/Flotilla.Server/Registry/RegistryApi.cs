using System.Security.Claims;
using Flotilla.Fleet;
using Flotilla.Fleet.Rollout;
using Flotilla.Registry;
using Flotilla.Registry.Events;
using Flotilla.Server.Endpoint;
using Flotilla.Server.Hosting;
using Flotilla.Server.Identity;
using Flotilla.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Registry;

/// <summary>Storage (metadata and artifacts), the model registry with its event outbox, and /api/registry.</summary>
internal static class RegistryApi
{
    public static WebApplicationBuilder AddStorage(this WebApplicationBuilder builder)
    {
        // Storage's settings are keys of the "Flotilla" section itself (Flotilla:DataDirectory, Flotilla:S3:Bucket …).
        builder.Services.AddFlotillaStorage(_ => { });
        builder.Services.AddOptions<StorageOptions>().BindConfiguration(FlotillaOptions.Section);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FlotillaOptions>, FlotillaOptionsValidator>());
        return builder;
    }

    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        builder.Services.AddFlotillaRegistry();
        builder.Services.AddOptions<ApprovalOptions>().BindConfiguration(ApprovalOptions.Section);
        builder.Services.AddOptions<OutboxOptions>().BindConfiguration(OutboxOptions.Section);
        return builder;
    }

    public static IEndpointRouteBuilder MapRegistryApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/registry").WithTags("Registry");
        api.MapGet("/groups", ListGroupsAsync).RequireAuthorization(Roles.Viewer);
        api.MapGet("/groups/{group}/packages", ListPackagesAsync).RequireAuthorization(Roles.Viewer);
        api.MapGet("/packages/{id}", GetPackageAsync).RequireAuthorization(Roles.Viewer);
        api.MapPatch("/packages/{id}", UpdatePackageAsync).RequireAuthorization(Roles.Approver)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    private static async Task<Ok<IReadOnlyList<Contracts.PackageGroup>>> ListGroupsAsync(ModelRegistry registry, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<Contracts.PackageGroup>>([.. (await registry.ListGroupsAsync(cancellationToken)).Select(g => g.ToContract())]);

    private static async Task<Results<Ok<IReadOnlyList<Contracts.PackageSummary>>, ProblemHttpResult>> ListPackagesAsync(
        string group, string? status, string? sort, ModelRegistry registry, CancellationToken cancellationToken)
    {
        ApprovalStatus? filter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!TryParseStatus(status, out var parsed))
                return BadStatus("status", status);
            filter = parsed;
        }
        var order = PackageSort.Version;
        if (!string.IsNullOrEmpty(sort) && !Enum.TryParse(sort, ignoreCase: true, out order))
        {
            return TypedResults.Problem(
                $"sort '{sort}' is not known; use one of: version, time.", statusCode: StatusCodes.Status400BadRequest, title: "Bad sort order");
        }
        if (await registry.GetGroupAsync(group, cancellationToken) is null)
        {
            return TypedResults.Problem(
                $"Model package group '{group}' does not exist; groups are made by a pipeline's first registration (see GET /api/registry/groups).",
                statusCode: StatusCodes.Status404NotFound, title: "Unknown model package group");
        }
        var packages = await registry.ListPackagesAsync(group, filter, order, cancellationToken);
        return TypedResults.Ok<IReadOnlyList<Contracts.PackageSummary>>([.. packages.Select(p => p.ToSummary())]);
    }

    private static async Task<Results<Ok<Contracts.Package>, ProblemHttpResult>> GetPackageAsync(
        string id, ModelRegistry registry, CancellationToken cancellationToken) =>
        await registry.GetPackageAsync(id, cancellationToken) is { } package
            ? TypedResults.Ok(package.ToContract())
            : UnknownPackage(id);

    private static async Task<Results<Ok<Contracts.Package>, ProblemHttpResult>> UpdatePackageAsync(
        string id, Contracts.UpdateApprovalRequest request, HttpContext http, ModelRegistry registry, AuditLog audit,
        IOptions<ApprovalOptions> approval, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(request.ApprovalStatus) || !TryParseStatus(request.ApprovalStatus, out var status))
            return BadStatus("approvalStatus", request.ApprovalStatus);
        // The authenticated principal, never a header the caller writes.
        var who = Principals.NameOf(http.User);
        if (approval.Value.RequireDifferentApprover && status == ApprovalStatus.Approved
            && await registry.GetPackageAsync(id, cancellationToken) is { Lineage.ExecutionId: { } execution }
            && await audit.StarterOfAsync(execution, cancellationToken) is { } starter
            && starter == http.User.FindFirstValue(ClaimTypes.NameIdentifier))
        {
            return TypedResults.Problem(
                $"'{who}' started execution {execution}, which registered {id}; {ApprovalOptions.Section}:RequireDifferentApprover asks another principal to approve it.",
                statusCode: StatusCodes.Status403Forbidden, title: "Four-eyes rule");
        }
        var rollouts = http.RequestServices.GetRequiredService<RolloutStore>();
        if (request.Rollout is { } rollout
            && await RolloutApi.PlanAsync(id, status, rollout, who, registry, http.RequestServices.GetRequiredService<FleetClient>(), rollouts, cancellationToken) is { } refusal)
        {
            return refusal;
        }
        try
        {
            return TypedResults.Ok((await registry.UpdateApprovalStatusAsync(id, status, request.Description, who, cancellationToken)).ToContract());
        }
        catch (ModelPackageNotFoundException)
        {
            return UnknownPackage(id);
        }
        catch (InvalidApprovalTransitionException e)
        {
            if (request.Rollout is not null && await registry.GetPackageAsync(id, cancellationToken) is { } package)
            {
                await rollouts.DiscardPlanAsync(package.Group, (int)package.Version, cancellationToken);
            }
            return TypedResults.Problem(e.Message, statusCode: StatusCodes.Status409Conflict, title: "Invalid approval status change");
        }
    }

    private static bool TryParseStatus(string text, out ApprovalStatus status) =>
        Enum.TryParse(text, ignoreCase: true, out status) && Enum.IsDefined(status) && !int.TryParse(text, out _);

    private static ProblemHttpResult BadStatus(string field, string? value) => TypedResults.Problem(
        $"{field} '{value}' is not an approval status; use one of: {string.Join(", ", Enum.GetNames<ApprovalStatus>())}.",
        statusCode: StatusCodes.Status400BadRequest, title: "Bad approval status");

    private static ProblemHttpResult UnknownPackage(string id) => TypedResults.Problem(
        $"Model package '{id}' does not exist. Package ids look like '<group>-v<version>'; list a group's packages with GET /api/registry/groups/{{group}}/packages.",
        statusCode: StatusCodes.Status404NotFound, title: "Unknown model package");
}

/// <summary>Configuration section <c>Flotilla:Registry</c>.</summary>
public sealed class ApprovalOptions
{
    public const string Section = "Flotilla:Registry";

    /// <summary>The four-eyes rule: the principal that started an execution cannot approve the version it registered.</summary>
    public bool RequireDifferentApprover { get; set; }
}
