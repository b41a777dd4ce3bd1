using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Flotilla.Server.Identity;

/// <summary>
/// <c>Authorization: Bearer flk_…</c>: the key's SHA-256 is looked up in the <see cref="KeyRing"/>. No cookies
/// and no query-string tokens, so a foreign page can neither ride on a browser's session nor leak a key into logs.
/// </summary>
internal sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, KeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerToken(Request) is not { } token)
            return Task.FromResult(AuthenticateResult.NoResult());
        return Task.FromResult(token.StartsWith(ApiKeyStore.SecretPrefix, StringComparison.Ordinal) && keys.TryGet(ApiKeyStore.HashOf(token), out var ticket)
            ? AuthenticateResult.Success(ticket)
            : AuthenticateResult.Fail("The API key is unknown, revoked or expired."));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
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
