using System.Security.Claims;
using System.Text.Json;
using Flotilla.Server.Hosting;
using Flotilla.Storage;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Identity;

/// <summary>
/// Who may call what. Every route declares the one role it needs (<c>.RequireAuthorization(Roles.X)</c>) or that it
/// is public (<c>.AllowAnonymous()</c>); a route that declares nothing is refused to everyone (the fallback policy),
/// so a forgotten declaration fails closed.
/// </summary>
internal static class IdentitySetup
{
    public const string OidcScheme = "Oidc";

    public static WebApplicationBuilder AddIdentity(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddFlotillaMigrations(IdentitySchema.Migrations);
        services.AddSingleton<ApiKeyStore>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<KeyRing>();
        services.AddHostedService<AdminKeyBootstrap>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyRing>());

        // One light handler per request on the hot path: the API-key scheme is the default and hands a token that
        // is not a Flotilla key to OpenID Connect itself, rather than a policy scheme choosing between the two.
        services.AddTransient<ApiKeyAuthentication>();
        services.AddAuthentication(o =>
            {
                o.AddScheme<ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, "Flotilla API key");
                o.DefaultScheme = ApiKeyAuthentication.SchemeName;
            })
            .AddJwtBearer(OidcScheme);
        services.AddOptions<JwtBearerOptions>(OidcScheme).Configure<IOptions<AuthOptions>>((jwt, auth) => ConfigureOidc(jwt, auth.Value.Oidc));

        services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAssertion(_ => false).Build())
            .AddRolePolicies();
        services.AddSingleton<IAuthorizationMiddlewareResultHandler, AccessRefusals>();
        // One for the process, built once: resolved per request (the framework's default is transient), it built
        // the framework's evaluator, authorization service and handler provider for every call. Every authorization
        // handler here is a singleton or stateless transient, so holding the framework's evaluator is safe.
        services.AddSingleton<Microsoft.AspNetCore.Authorization.Policy.IPolicyEvaluator>(sp =>
            new RolePolicyEvaluator(ActivatorUtilities.CreateInstance<Microsoft.AspNetCore.Authorization.Policy.PolicyEvaluator>(sp)));
        builder.AddRateLimits();
        return builder;
    }

    /// <summary>Authentication, then the audit log (so refusals are recorded with their status), then authorization and rate limits.</summary>
    public static WebApplication UseIdentity(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseMiddleware<AuditMiddleware>();
        app.UseAuthorization();
        app.UseRateLimiter();
        return app;
    }

    private static AuthorizationBuilder AddRolePolicies(this AuthorizationBuilder authorization)
    {
        foreach (var role in Roles.All)
            authorization.AddPolicy(role, p => p.RequireRole(role));
        return authorization;
    }

    private static void ConfigureOidc(JwtBearerOptions jwt, OidcOptions oidc)
    {
        if (!oidc.Enabled)
            return;
        jwt.Authority = oidc.Authority;
        jwt.Audience = oidc.Audience;
        jwt.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
        jwt.MapInboundClaims = false;
        jwt.TokenValidationParameters.ValidateAudience = !string.IsNullOrWhiteSpace(oidc.Audience);
        jwt.TokenValidationParameters.NameClaimType = "name";
        jwt.Events = new JwtBearerEvents { OnTokenValidated = context => MapTokenClaims(context, oidc) };
    }

    /// <summary>The token's role claim becomes Flotilla roles (with the ones they imply); unknown role names are ignored.</summary>
    private static Task MapTokenClaims(TokenValidatedContext context, OidcOptions oidc)
    {
        var principal = context.Principal!;
        var subject = principal.FindFirstValue("sub") ?? "";
        var name = principal.FindFirstValue("name") ?? principal.FindFirstValue("preferred_username") ?? subject;
        var claims = new List<Claim> { new(ClaimTypes.NameIdentifier, "oidc:" + subject), new(ClaimTypes.Name, name) };
        claims.AddRange(Roles.Expand(ValuesOf(principal, oidc.RolesClaim).Where(Roles.IsKnown)).Select(r => new Claim(ClaimTypes.Role, r)));
        claims.AddRange(ValuesOf(principal, oidc.GroupsClaim).Select(g => new Claim(Principals.GroupClaim, g)));
        context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, OidcScheme));
        return Task.CompletedTask;
    }

    /// <summary>A claim's values whether the token repeats the claim or carries one JSON array.</summary>
    private static IEnumerable<string> ValuesOf(ClaimsPrincipal principal, string claim) =>
        principal.FindAll(claim).SelectMany(c => c.Value.StartsWith('[')
            ? JsonSerializer.Deserialize<string[]>(c.Value) ?? []
            : [c.Value]);
}

/// <summary>
/// On first start of a deployment (no key ever made), creates the admin key and writes its secret to
/// <c>&lt;DataDirectory&gt;/admin.key</c>, readable by the server's user only; the log names the file, never the key.
/// Then loads the key ring before the server takes requests.
/// </summary>
public sealed partial class AdminKeyBootstrap(
    ApiKeyStore keys, KeyRing ring, IOptions<FlotillaOptions> flotilla, ILogger<AdminKeyBootstrap> logger) : IHostedService
{
    public const string FileName = "admin.key";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (await keys.BootstrapAdminAsync(cancellationToken) is { } issued)
        {
            var path = Path.Combine(flotilla.Value.DataDirectory, FileName);
            Directory.CreateDirectory(flotilla.Value.DataDirectory);
            await WriteOwnerOnlyAsync(path, issued.Secret + "\n", cancellationToken);
            LogAdminKeyWritten(path, issued.Key.Id);
        }
        await ring.ReloadAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Created with mode 0600 from the start, so the secret is never readable by others, not even briefly.</summary>
    private static async Task WriteOwnerOnlyAsync(string path, string text, CancellationToken ct)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var file = new FileStream(path, options))
            await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), ct);
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "No API key existed: created admin key {KeyId} and wrote its secret to {Path} (mode 0600). Use it to create named keys, then keep it safe")]
    private partial void LogAdminKeyWritten(string path, string keyId);
}
