using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Flotilla.Server.Identity;

/// <summary>
/// <c>Authorization: Bearer flk_…</c>: the key is looked up in the <see cref="KeyRing"/>. No cookies and no
/// query-string tokens, so a foreign page can neither ride on a browser's session nor leak a key into logs. Any
/// other bearer token goes to OpenID Connect when it is configured.
/// </summary>
/// <remarks>
/// A plain <see cref="IAuthenticationHandler"/> rather than an <c>AuthenticationHandler&lt;T&gt;</c>: ASP.NET Core
/// makes one per request, and the base class's per-request work (options look-up, a logger from the factory, which
/// takes a lock, forwarding checks) was most of what authentication cost an invocation (bench/README.md, "fleet auth").
/// </remarks>
internal sealed class ApiKeyAuthentication(KeyRing keys, IOptions<AuthOptions> options) : IAuthenticationHandler
{
    public const string SchemeName = "ApiKey";

    private static readonly Task<AuthenticateResult> NoKey = Task.FromResult(AuthenticateResult.NoResult());
    private static readonly Task<AuthenticateResult> Refused = Task.FromResult(AuthenticateResult.Fail("The API key is unknown, revoked or expired."));

    private HttpContext _context = null!;

    public Task InitializeAsync(AuthenticationScheme scheme, HttpContext context)
    {
        _context = context;
        return Task.CompletedTask;
    }

    public Task<AuthenticateResult> AuthenticateAsync()
    {
        if (BearerToken(_context.Request) is not { } token)
            return NoKey;
        if (!token.StartsWith(ApiKeyStore.SecretPrefix, StringComparison.Ordinal))
            return options.Value.Oidc.Enabled ? _context.AuthenticateAsync(IdentitySetup.OidcScheme) : Refused;
        return keys.TryGetBySecret(token, out var ticket) ? Task.FromResult(AuthenticateResult.Success(ticket)) : Refused;
    }

    public Task ChallengeAsync(AuthenticationProperties? properties)
    {
        _context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        _context.Response.Headers.WWWAuthenticate = "Bearer";
        return Task.CompletedTask;
    }

    public Task ForbidAsync(AuthenticationProperties? properties)
    {
        _context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return Task.CompletedTask;
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header, or null.</summary>
    public static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers[HeaderNames.Authorization].ToString();
        const string prefix = "Bearer ";
        return header.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && header.Length > prefix.Length
            ? header[prefix.Length..].Trim()
            : null;
    }
}
