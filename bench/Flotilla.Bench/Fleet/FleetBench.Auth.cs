using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Bench.Fleet;

internal static partial class FleetBench
{
    /// <summary>
    /// What authentication and authorization cost an invocation: the shipped server called with an invoker key,
    /// against the same build whose authorization is switched off in this benchmark host only (a policy evaluator
    /// that lets every call through and reads no key). Rounds alternate between the two servers; the figure is the
    /// median of the pairwise throughput ratios, since single wrk rounds vary by tens of percent here.
    /// </summary>
    private static async Task<int> AuthAsync(BreastCancer data, Options options, CancellationToken cancellationToken)
    {
        var pairs = Math.Max(5, options.Rounds);
        Console.WriteLine($"== fleet auth: one-row invocations with an invoker key vs authorization off in the bench host (wrk -t2 -c32, {options.Duration} s, {pairs} pairs)");
        await using var secured = await BenchServer.StartAsync();
        await using var open = await BenchServer.StartAsync(b => b.Services.AddSingleton<IPolicyEvaluator, LetEveryoneIn>());
        const string group = "multimodel-breast-cancer";
        var artifact = data.Train(options.Algorithm, options.Seed, cancellationToken);
        foreach (var server in new[] { secured, open })
        {
            var package = await server.DeployAsync(group, artifact, cancellationToken);
            await server.WaitDeployedAsync(new Dictionary<string, string> { [group] = package.Artifact.Sha256 }, TimeSpan.FromSeconds(60), cancellationToken);
        }
        var invoker = await secured.CreateKeyAsync("bench-invoker", ["invoker"], cancellationToken);

        var withKey = await ScriptAsync(data.FirstRow, invoker, cancellationToken);
        var withoutKey = await ScriptAsync(data.FirstRow, null, cancellationToken);
        try
        {
            var securedUrl = new Uri(secured.Address, $"/models/{group}/invocations").ToString();
            var openUrl = new Uri(open.Address, $"/models/{group}/invocations").ToString();
            await Wrk.RunAsync(securedUrl, withKey, 3, cancellationToken);
            await Wrk.RunAsync(openUrl, withoutKey, 3, cancellationToken);
            var ratios = new List<double>();
            long errors = 0;
            for (var pair = 1; pair <= pairs; pair++)
            {
                // Alternate which goes first, so a trend on the machine does not favour one side.
                var (first, second) = pair % 2 == 1 ? ((securedUrl, withKey), (openUrl, withoutKey)) : ((openUrl, withoutKey), (securedUrl, withKey));
                var a = await Wrk.RunAsync(first.Item1, first.Item2, options.Duration, cancellationToken);
                var b = await Wrk.RunAsync(second.Item1, second.Item2, options.Duration, cancellationToken);
                var (keyed, unkeyed) = first.Item1 == securedUrl ? (a, b) : (b, a);
                Console.WriteLine($"pair {pair}: invoker key       {keyed}");
                Console.WriteLine($"pair {pair}: authorization off {unkeyed}");
                ratios.Add(keyed.RequestsPerSecond / unkeyed.RequestsPerSecond);
                errors += keyed.Errors + unkeyed.Errors;
            }
            var median = Stats.Percentile(ratios, 0.5);
            Console.WriteLine($"with a key / without, median of {pairs} pairwise ratios: {median:P1} " +
                $"(pairs: {string.Join(", ", ratios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}; bar: >= 95%); failed calls: {errors}");
            return median >= 0.95 && errors == 0 ? 0 : 1;
        }
        finally
        {
            File.Delete(withKey);
            File.Delete(withoutKey);
        }
    }

    /// <summary>A wrk script posting one CSV row, with the bearer key when one is given.</summary>
    private static async Task<string> ScriptAsync(string row, string? key, CancellationToken cancellationToken)
    {
        var script = Path.Combine(Path.GetTempPath(), $"flotilla-invoke-{Guid.NewGuid():N}.lua");
        var authorization = key is null ? "" : $"wrk.headers[\"Authorization\"] = \"Bearer {key}\"\n";
        await File.WriteAllTextAsync(script,
            $"wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"text/csv\"\nwrk.headers[\"Accept\"] = \"text/csv\"\n{authorization}wrk.body = \"{row}\"\n",
            cancellationToken);
        return script;
    }

    /// <summary>The benchmark's "authorization off": every call is let in as an anonymous principal, no handler runs.</summary>
    private sealed class LetEveryoneIn : IPolicyEvaluator
    {
        private static readonly AuthenticateResult Nobody =
            AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity()), "none"));

        public Task<AuthenticateResult> AuthenticateAsync(AuthorizationPolicy policy, HttpContext context) => Task.FromResult(Nobody);

        public Task<PolicyAuthorizationResult> AuthorizeAsync(
            AuthorizationPolicy policy, AuthenticateResult authenticationResult, HttpContext context, object? resource) =>
            Task.FromResult(PolicyAuthorizationResult.Success());
    }
}
