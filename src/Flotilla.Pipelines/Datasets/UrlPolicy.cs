using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Datasets;

/// <summary>
/// Which URLs a dataset may be downloaded from, checked twice: the host against
/// <see cref="DatasetSourceOptions.AllowedUrlHosts"/> before anything is sent, and every address the host resolves
/// to inside the connection itself (<see cref="ConnectAsync"/>), so the address connected to is the one checked
/// and a DNS answer that changes between check and use (rebinding) cannot reach loopback, link-local or private
/// addresses.
/// </summary>
public sealed class UrlPolicy(IOptions<DatasetSourceOptions> options)
{
    public const string ClientName = "flotilla-datasets";

    public const string HostsSetting = "Flotilla:Datasets:AllowedUrlHosts";

    private enum Listing { No, ByName, ByPattern }

    /// <summary>Null when the URL may be fetched; otherwise why not (without having connected anywhere).</summary>
    public string? Refusal(Uri url)
    {
        if (url.Scheme is not ("http" or "https"))
        {
            return $"{url.Scheme}: URLs are not fetched; use http or https.";
        }
        return Listed(url.IdnHost) == Listing.No
            ? $"'{url.Host}' is not in {HostsSetting} (empty: no URL is fetched). An administrator lists the hosts datasets may come from; or upload the file."
            : null;
    }

    /// <summary>The handler of the download client: no proxy, no redirects, and the address check in the connection.</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ConnectCallback = ConnectAsync,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var host = context.DnsEndPoint.Host;
        var listing = Listed(host);
        if (listing == Listing.No)
        {
            throw new UrlRefusedException($"'{host}' is not in {HostsSetting}.");
        }

        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);
        if (listing != Listing.ByName && addresses.FirstOrDefault(a => !IsPublic(a)) is { } inner)
        {
            throw new UrlRefusedException($"'{host}' resolves to {inner}, a loopback, link-local or private address; only a host listed by name in {HostsSetting} may.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private Listing Listed(string host)
    {
        host = host.TrimEnd('.');
        var hosts = options.Value.AllowedUrlHosts;
        if (hosts.Any(h => string.Equals(h.Trim().TrimEnd('.'), host, StringComparison.OrdinalIgnoreCase)))
        {
            return Listing.ByName;
        }
        return hosts.Any(h => h.Trim() is ['*', '.', ..] pattern && host.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase))
            ? Listing.ByPattern
            : Listing.No;
    }

    /// <summary>Whether an address is on the public internet: not loopback, link-local, private, unique-local or unspecified.</summary>
    public static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
        {
            return false;
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return !(address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal || address.IsIPv6Multicast);
        }
        var b = address.GetAddressBytes();
        return b[0] switch
        {
            0 or 10 or 127 => false,
            100 => b[1] is < 64 or > 127,      // 100.64.0.0/10, carrier-grade NAT
            169 => b[1] != 254,                // link-local, where cloud metadata services answer
            172 => b[1] is < 16 or > 31,
            192 => !(b[1] == 168 || (b[1] == 0 && b[2] is 0 or 2)),
            198 => b[1] is not (18 or 19),     // benchmarking
            >= 224 => false,                   // multicast and reserved
            _ => true,
        };
    }
}

/// <summary>A download refused by <see cref="UrlPolicy"/> inside the connection.</summary>
public sealed class UrlRefusedException(string message) : IOException(message);
