using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Infrastructure;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Flotilla.Server.Identity;

/// <summary>
/// Decides a route's one-role policy with one <c>IsInRole</c> and answers from cached results; any other policy
/// goes to ASP.NET Core's evaluator. The framework's path (a handler context, the handler pipeline, the result
/// objects) was a measurable share of an invocation's cost (bench/README.md, "fleet auth"), and these policies have
/// no handlers of their own to run.
/// </summary>
internal sealed class RolePolicyEvaluator(PolicyEvaluator framework) : IPolicyEvaluator
{
    private static readonly Task<PolicyAuthorizationResult> Allowed = Task.FromResult(PolicyAuthorizationResult.Success());
    private static readonly Task<PolicyAuthorizationResult> Forbidden = Task.FromResult(PolicyAuthorizationResult.Forbid());
    private static readonly Task<PolicyAuthorizationResult> Challenged = Task.FromResult(PolicyAuthorizationResult.Challenge());

    public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) =>
        framework.AuthenticateAsync(policy, context);

    public Task<PolicyAuthorizationResult> AuthorizeAsync(
        AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource)
    {
        if (policy.Requirements is not [RolesAuthorizationRequirement { AllowedRoles: var roles }])
            return framework.AuthorizeAsync(policy, authenticationResult, context, resource);
        foreach (var role in roles)
        {
            if (context.User.IsInRole(role))
                return Allowed;
        }
        return authenticationResult.Succeeded ? Forbidden : Challenged;
    }
}
