using System.Net;

namespace Flotilla.Cli.Client;

/// <summary>The server answered with an error; <see cref="Exception.Message"/> is the problem details' one-sentence explanation.</summary>
internal sealed class FlotillaApiException(HttpStatusCode status, string message) : Exception(message)
{
    public HttpStatusCode Status { get; } = status;
}
