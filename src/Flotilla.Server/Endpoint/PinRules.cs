using System.Buffers;

namespace Flotilla.Server.Endpoint;

/// <summary>What a <c>PUT /api/endpoint/aliases/{group}</c> body may hold: one version or a split of at most ten, either with a shadow, or a shadow alone.</summary>
internal static class PinRules
{
    private const int MaxRoutes = 10;

    /// <summary>What is wrong with the body, or null.</summary>
    public static string? Problem(Contracts.PinRequest request)
    {
        if (request.Shadow is { } shadow && shadow.Percent is < 1 or > 100)
        {
            return $"shadow: percent must be a whole number from 1 to 100 (was {shadow.Percent}).";
        }
        if (request.Version is not null && request.Routes is not null || request.Version is null && request.Routes is null && request.Shadow is null)
        {
            return "Send either {\"version\": n} to pin one approved version, or {\"routes\": [{\"version\": 3, \"weight\": 90}, {\"version\": 4, \"weight\": 10}]} to split the calls; either may add \"shadow\": {\"version\": 5, \"percent\": 50}.";
        }
        if (request.Routes is null)
        {
            return request.StickyHeader is null ? null : "stickyHeader applies to a split: send it with routes.";
        }
        if (request.Routes.Count is 0 or > MaxRoutes)
        {
            return $"routes must hold 1 to {MaxRoutes} versions (it has {request.Routes.Count}).";
        }
        if (request.Routes.FirstOrDefault(r => r.Weight is < 1 or > 1_000_000) is { } bad)
        {
            return $"routes: the weight of version {bad.Version} must be a whole number from 1 to 1,000,000 (was {bad.Weight}).";
        }
        if (request.Routes.GroupBy(r => r.Version).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return $"routes: version {twice.Key} is listed twice; give each version once with its weight.";
        }
        if (request.StickyHeader is not null && (request.StickyHeader.Length is 0 or > 64 || request.StickyHeader.AsSpan().ContainsAnyExcept(HeaderNameCharacters)))
        {
            return $"stickyHeader '{request.StickyHeader}' is not a header name: use 1 to 64 letters, digits and '-'.";
        }
        return null;
    }

    private static readonly SearchValues<char> HeaderNameCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-");
}
