using System.Net;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Flotilla.Server.Tests.Security;

/// <summary>
/// OpenID Connect as the second way in: an identity provider of the test's own (a signing key it makes, its
/// discovery document and JWKS served on loopback), and tokens it signs.
/// </summary>
public sealed class OidcTests : IAsyncLifetime
{
    private const string Audience = "flotilla-api";
    private readonly RSA _signing = RSA.Create(2048);
    private WebApplication _provider = null!;
    private string _issuer = "";

    public async Task InitializeAsync()
    {
        _provider = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]).Build();
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_signing.ExportParameters(false)) { KeyId = "test-key" });
        jwk.Use = "sig";
        jwk.Alg = SecurityAlgorithms.RsaSha256;
        _provider.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = _issuer,
            ["jwks_uri"] = _issuer + "/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        _provider.MapGet("/jwks", () => Results.Json(new
        {
            keys = new[] { new { kty = jwk.Kty, use = jwk.Use, kid = jwk.Kid, alg = jwk.Alg, n = jwk.N, e = jwk.E } },
        }));
        await _provider.StartAsync();
        _issuer = _provider.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _signing.Dispose();
    }

    private string Token(string[] roles, string audience = Audience, RSA? signer = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = _issuer,
            Audience = audience,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["sub"] = "user-17", ["name"] = "Olga", ["roles"] = roles },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(signer ?? _signing) { KeyId = "test-key" }, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }

    private Task<RunningServer> StartServerAsync() => RunningServer.StartAsync(
        $"--Flotilla:Auth:Oidc:Authority={_issuer}", $"--Flotilla:Auth:Oidc:Audience={Audience}",
        "--Flotilla:Auth:Oidc:RequireHttpsMetadata=false");

    [Fact]
    public async Task A_token_from_the_configured_provider_carries_its_roles()
    {
        await using var server = await StartServerAsync();
        using var viewer = server.CreateClient(Token(["viewer"]));

        using var read = await viewer.GetAsync("/api/datasets");
        using var write = await viewer.PostAsync("/api/datasets", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, write.StatusCode);
        Assert.Contains("'Olga' lacks role 'operator'", await write.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_token_for_another_audience_or_signed_by_another_key_is_refused()
    {
        await using var server = await StartServerAsync();
        using var stranger = RSA.Create(2048);
        using var wrongAudience = server.CreateClient(Token(["admin"], audience: "some-other-api"));
        using var forged = server.CreateClient(Token(["admin"], signer: stranger));

        Assert.Equal(HttpStatusCode.Unauthorized, (await wrongAudience.GetAsync("/api/datasets")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await forged.GetAsync("/api/datasets")).StatusCode);
    }
}
