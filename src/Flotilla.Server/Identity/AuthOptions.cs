using System.ComponentModel.DataAnnotations;

namespace Flotilla.Server.Identity;

/// <summary>Configuration section <c>Flotilla:Auth</c>.</summary>
public sealed class AuthOptions
{
    public const string Section = "Flotilla:Auth";

    /// <summary>How often every server re-reads the API keys: the longest a key revoked elsewhere still works here.</summary>
    [Range(0.1, 300)]
    public double KeyRefreshSeconds { get; set; } = 1;

    /// <summary>OpenID Connect bearer tokens as a second way in; off while <see cref="OidcOptions.Authority"/> is empty.</summary>
    public OidcOptions Oidc { get; set; } = new();
}

public sealed class OidcOptions
{
    /// <summary>The issuer, e.g. https://login.example.com/realms/team; its discovery document names the signing keys.</summary>
    public string? Authority { get; set; }

    /// <summary>The audience tokens must carry (the API's client id at the identity provider).</summary>
    public string? Audience { get; set; }

    /// <summary>The claim whose values are Flotilla role names (a JSON array or repeated claims).</summary>
    public string RolesClaim { get; set; } = "roles";

    /// <summary>The claim limiting an invoker to model groups; absent means every group.</summary>
    public string GroupsClaim { get; set; } = "flotilla_groups";

    /// <summary>Whether the discovery document must come over HTTPS; turn off only for a provider on loopback.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
