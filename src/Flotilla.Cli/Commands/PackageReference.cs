using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary>
/// How users name a model package on the command line: its id, <c>GROUP:VERSION</c>, or just <c>GROUP</c>
/// (its latest version) — ids are exact, the friendly forms are resolved through the group's package list.
/// </summary>
internal static class PackageReference
{
    public static async Task<JsonObject> ResolveAsync(FlotillaClient client, string reference, CancellationToken cancellationToken)
    {
        try
        {
            return (JsonObject)await client.GetAsync($"/api/registry/packages/{Uri.EscapeDataString(reference)}", cancellationToken);
        }
        catch (FlotillaApiException e) when (e.Status is HttpStatusCode.NotFound or HttpStatusCode.BadRequest)
        {
            var colon = reference.LastIndexOf(':');
            var group = colon > 0 ? reference[..colon] : reference;
            var version = colon > 0 ? reference[(colon + 1)..] : null;
            JsonNode packages;
            try
            {
                packages = await client.GetAsync($"/api/registry/groups/{Uri.EscapeDataString(group)}/packages", cancellationToken);
            }
            catch (FlotillaApiException inner) when (inner.Status == HttpStatusCode.NotFound)
            {
                throw new FlotillaApiException(HttpStatusCode.NotFound,
                    $"No model package '{reference}': give a package id, GROUP or GROUP:VERSION (see `flotilla registry list`).");
            }
            var list = (packages as JsonArray ?? packages["packages"] as JsonArray ?? []).OfType<JsonObject>().ToList();
            var match = version is null
                ? list.OrderByDescending(p => ExecutionSnapshot.Num(p, "version") ?? 0).FirstOrDefault()
                : list.FirstOrDefault(p => CliConsole.Text(p["version"]) == version);
            if (match is null)
            {
                throw new FlotillaApiException(HttpStatusCode.NotFound,
                    $"Group '{group}' has no {(version is null ? "versions" : "version " + version)}; see `flotilla registry list {group}`.");
            }
            var id = CliConsole.Text(match["id"] ?? match["packageId"]);
            return (JsonObject)await client.GetAsync($"/api/registry/packages/{Uri.EscapeDataString(id)}", cancellationToken);
        }
    }

    public static string Id(JsonObject package) => CliConsole.Text(package["id"] ?? package["packageId"]);
}
