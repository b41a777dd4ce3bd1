using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Identity;

/// <summary>Configuration section <c>Flotilla:RateLimits</c>: per-principal limits, 0 = no limit.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "Flotilla:RateLimits";

    /// <summary>Execution starts a principal may make per minute (a token bucket: bursts up to this many).</summary>
    [Range(0, 1_000_000)]
    public int ExecutionStartsPerMinute { get; set; } = 60;

    /// <summary>Invocations a principal may make per second; off by default, the endpoint is built for throughput.</summary>
    [Range(0, 10_000_000)]
    public int InvocationsPerSecond { get; set; }
}

/// <summary>
/// ASP.NET Core's rate limiter, partitioned by principal (the key's id, or the client address for anonymous
/// calls), answering 429 with Retry-After.
/// </summary>
internal static class RateLimits
{
    public const string ExecutionStarts = "execution-starts";
    public const string Invocations = "invocations";

    public static WebApplicationBuilder AddRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, ct) =>
            {
                var retry = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retry.TotalSeconds));
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await Results.Problem(
                    $"Too many requests from '{Principals.NameOf(context.HttpContext.User)}'; retry in {seconds} s (limits: {RateLimitOptions.Section}).",
                    statusCode: StatusCodes.Status429TooManyRequests, title: "Rate limited").ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(ExecutionStarts, context =>
                PerPrincipal(context, context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.ExecutionStartsPerMinute, TimeSpan.FromMinutes(1)));
            limiter.AddPolicy(Invocations, context =>
                PerPrincipal(context, context.RequestServices.GetRequiredService<IOptions<RateLimitOptions>>().Value.InvocationsPerSecond, TimeSpan.FromSeconds(1)));
        });
        return builder;
    }

    private static RateLimitPartition<string> PerPrincipal(HttpContext context, int perPeriod, TimeSpan period)
    {
        var who = context.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? "ip:" + context.Connection.RemoteIpAddress;
        return perPeriod <= 0
            ? RateLimitPartition.GetNoLimiter(who)
            : RateLimitPartition.GetTokenBucketLimiter(who, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = perPeriod,
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = period,
                QueueLimit = 0,
                AutoReplenishment = true,
            });
    }
}
