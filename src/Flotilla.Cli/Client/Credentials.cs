using System.Net;

namespace Flotilla.Cli.Client;

/// <summary>
/// The API key a client command sends: <c>--token</c>, else <c>$FLOTILLA_TOKEN</c>, else — for a server on this
/// machine only — the admin key its first start wrote to its data folder (<c>$FLOTILLA_DATA</c>, else <c>./.data</c>,
/// the default of <c>flotilla server</c>), so a local quick start needs no key handling at all.
/// </summary>
internal static class Credentials
{
    public const string DataEnvironmentVariable = "FLOTILLA_DATA";
    public const string AdminKeyFile = Flotilla.Server.Identity.AdminKeyBootstrap.FileName;

    public static string? Resolve(string? token, Uri server)
    {
        if (!string.IsNullOrWhiteSpace(token))
            return token.Trim();
        if (!IsLoopback(server))
            return null;
        var folder = Environment.GetEnvironmentVariable(DataEnvironmentVariable) is { Length: > 0 } data
            ? data
            : Path.Combine(Environment.CurrentDirectory, ".data");
        return ReadKeyFile(folder);
    }

    /// <summary>The admin key in a data folder, or null when the file is absent or unreadable.</summary>
    public static string? ReadKeyFile(string dataDirectory)
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(dataDirectory, AdminKeyFile)).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static bool IsLoopback(Uri server) =>
        server.IsLoopback || (IPAddress.TryParse(server.Host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));
}
