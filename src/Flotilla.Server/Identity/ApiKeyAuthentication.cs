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
    IOptionsMonitor<AuthenticationSchemeOptions> options, HandlerLoggers logger, UrlEncoder encoder, KeyRing keys)
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

/// <summary>
/// The logger factory handed to the API-key handler, which ASP.NET Core creates anew for every request: the
/// framework's factory takes a lock on each CreateLogger, and under load that lock was a measurable part of an
/// invocation (bench/README.md, "fleet auth"). This one hands out the same logger per category without a lock.
/// </summary>
internal sealed class HandlerLoggers(ILoggerFactory factory) : ILoggerFactory
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, ILogger> _loggers = new(StringComparer.Ordinal);

    public ILogger CreateLogger(string categoryName) => _loggers.GetOrAdd(categoryName, factory.CreateLogger);

    public void AddProvider(ILoggerProvider provider) => factory.AddProvider(provider);

    // The host owns the wrapped factory and disposes it.
    public void Dispose()
    {
    }
}
