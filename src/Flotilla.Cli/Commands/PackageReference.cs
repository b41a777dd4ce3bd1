using System.Globalization;
using System.Net;
using Flotilla.Cli.Client;
using Flotilla.Contracts;

namespace Flotilla.Cli.Commands;

/// <summary>
/// How users name a model package on the command line: its id, <c>GROUP:VERSION</c>, or just <c>GROUP</c>
/// (its latest version) — ids are exact, the friendly forms are resolved through the group's package list.
/// </summary>
internal static class PackageReference
{
    public static async Task<Package> ResolveAsync(FlotillaClient client, string reference, CancellationToken cancellationToken)
    {
        try
        {
            return await client.GetPackageAsync(reference, cancellationToken);
        }
        catch (FlotillaApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            var colon = reference.LastIndexOf(':');
            var group = colon > 0 ? reference[..colon] : reference;
            var version = colon > 0 ? reference[(colon + 1)..] : null;
            IReadOnlyList<PackageSummary> packages;
            try
            {
                packages = await client.ListPackagesAsync(group, cancellationToken);
            }
            catch (FlotillaApiException inner) when (inner.Status == HttpStatusCode.NotFound)
            {
                throw new FlotillaApiException(HttpStatusCode.NotFound,
                    $"No model package '{reference}': give a package id, GROUP or GROUP:VERSION (see `flotilla registry list`).");
            }
            var match = version is null
                ? packages.MaxBy(p => p.Version)
                : packages.FirstOrDefault(p => p.Version.ToString(CultureInfo.InvariantCulture) == version);
            if (match is null)
            {
                throw new FlotillaApiException(HttpStatusCode.NotFound,
                    $"Group '{group}' has no {(version is null ? "versions" : "version " + version)}; see `flotilla registry list {group}`.");
            }
            return await client.GetPackageAsync(match.Id, cancellationToken);
        }
    }
}
