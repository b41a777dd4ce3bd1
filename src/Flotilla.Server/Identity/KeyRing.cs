using System.Collections.Frozen;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Identity;

/// <summary>
/// The active API keys of the whole cluster, in memory, so authenticating a call costs one SHA-256 and one
/// dictionary look-up instead of a database round trip. The snapshot is replaced after every local create or
/// revoke and re-read from the store every <see cref="AuthOptions.KeyRefreshSeconds"/>, which bounds how long a key
/// revoked on another server stays usable here.
/// </summary>
public sealed partial class KeyRing(ApiKeyStore keys, IOptions<AuthOptions> options, TimeProvider time, ILogger<KeyRing> logger)
    : BackgroundService
{
    private volatile FrozenDictionary<string, AuthenticationTicket> _tickets = FrozenDictionary<string, AuthenticationTicket>.Empty;
    private readonly SemaphoreSlim _reload = new(1, 1);

    /// <summary>The ticket of the key whose secret hashes to <paramref name="sha256"/>, if it is active.</summary>
    public bool TryGet(string sha256, out AuthenticationTicket ticket)
    {
        if (_tickets.TryGetValue(sha256, out var found) && !Expired(found))
        {
            ticket = found;
            return true;
        }
        ticket = null!;
        return false;
    }

    public async Task ReloadAsync(CancellationToken ct)
    {
        await _reload.WaitAsync(ct);
        try
        {
            var active = await keys.ActiveAsync(ct);
            _tickets = active.ToFrozenDictionary(k => k.Sha256, k => TicketOf(k.Key), StringComparer.Ordinal);
        }
        finally
        {
            _reload.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.KeyRefreshSeconds), time);
        do
        {
            try
            {
                await ReloadAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The last snapshot keeps serving; a store that stays away shows here on every tick.
                LogReloadFailed(e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private bool Expired(AuthenticationTicket ticket) =>
        ticket.Properties.ExpiresUtc is { } expires && expires <= time.GetUtcNow();

    public static AuthenticationTicket TicketOf(ApiKey key)
    {
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Id),
            new(ClaimTypes.Name, key.Name),
        };
        claims.AddRange(Roles.Expand(key.Roles).Select(r => new Claim(ClaimTypes.Role, r)));
        if (key.Groups is { } groups)
            claims.AddRange(groups.Select(g => new Claim(Principals.GroupClaim, g)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, ApiKeyAuthentication.SchemeName));
        return new AuthenticationTicket(principal, new AuthenticationProperties { ExpiresUtc = key.ExpiresAt }, ApiKeyAuthentication.SchemeName);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-reading the API keys failed; the previous set stays in force")]
    private partial void LogReloadFailed(Exception exception);
}
