using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;

namespace Flotilla.Server.Ui;

/// <summary>
/// The web UI: plain HTML, CSS and ES modules embedded in this assembly (Ui/assets), served at <c>/</c> and
/// <c>/ui/…</c>. No build step, no CDN: the UI works offline, from the same process as the API it calls.
/// </summary>
internal static class UiEndpoints
{
    private static readonly IFileProvider Assets = new ManifestEmbeddedFileProvider(typeof(UiEndpoints).Assembly, "Ui/assets");
    private static readonly FileExtensionContentTypeProvider ContentTypes = new();

    public static IEndpointRouteBuilder MapUi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Serve("index.html")).ExcludeFromDescription().AllowAnonymous();
        app.MapGet("/ui/{**path}", (string path) => Serve(path)).ExcludeFromDescription().AllowAnonymous();
        return app;
    }

    private static IResult Serve(string path)
    {
        var file = Assets.GetFileInfo(path);
        if (!file.Exists || file.IsDirectory)
        {
            return TypedResults.NotFound();
        }
        if (!ContentTypes.TryGetContentType(path, out var contentType))
        {
            contentType = "application/octet-stream";
        }
        if (contentType is "text/javascript" or "application/javascript" or "text/html" or "text/css")
        {
            contentType += "; charset=utf-8";
        }
        // Assets change only with a new build; the last-modified date lets browsers revalidate cheaply.
        return TypedResults.Stream(file.CreateReadStream(), contentType, lastModified: file.LastModified);
    }
}
