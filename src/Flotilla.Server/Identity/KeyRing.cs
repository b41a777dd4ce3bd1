using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Claims;
using Flotilla.Contracts;
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
    private volatile Snapshot _snapshot = new(FrozenDictionary<string, AuthenticationTicket>.Empty);
    private readonly SemaphoreSlim _reload = new(1, 1);

    /// <summary>
    /// The active keys by the SHA-256 of their secret, and the secrets already seen since this snapshot was read,
    /// so a key's hash is computed once per snapshot, not once per call. A new snapshot starts with no secrets:
    /// a revoked key cannot outlive the read that no longer has it.
    /// </summary>
    private sealed record Snapshot(FrozenDictionary<string, AuthenticationTicket> ByHash)
    {
        public ConcurrentDictionary<string, AuthenticationTicket> BySecret { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>The ticket of the active key whose secret is <paramref name="secret"/>.</summary>
    public bool TryGetBySecret(string secret, out AuthenticationTicket ticket)
    {
        var snapshot = _snapshot;
        if (!snapshot.BySecret.TryGetValue(secret, out var found))
        {
            if (!snapshot.ByHash.TryGetValue(ApiKeyStore.HashOf(secret), out found))
            {
                // Unknown secrets are not remembered: a caller trying keys cannot grow this.
                ticket = null!;
                return false;
            }
            snapshot.BySecret.TryAdd(secret, found);
        }
        ticket = found;
        return !Expired(found);
    }

    public async Task ReloadAsync(CancellationToken ct)
    {
        await _reload.WaitAsync(ct);
        try
        {
            var active = await keys.ActiveAsync(ct);
            _snapshot = new Snapshot(active.ToFrozenDictionary(k => k.Sha256, k => TicketOf(k.Key), StringComparer.Ordinal));
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
