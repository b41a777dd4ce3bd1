using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.OpenApi;

namespace Flotilla.Server.Hosting;

/// <summary>
/// Declares in the OpenAPI document the problem answers that the pipeline around a handler gives, which no
/// handler's signature shows: 401/403 on every route that needs a role, 400 and 413 on every route with a body,
/// 404 on every route that names something in its path, 429 where a rate limit applies, 414 everywhere.
/// </summary>
internal sealed class ProblemResponses : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var metadata = context.Description.ActionDescriptor.EndpointMetadata;
        var method = context.Description.HttpMethod ?? "GET";
        var statuses = new SortedDictionary<int, string>();
        if (metadata.OfType<IAuthorizeData>().Any() && !metadata.OfType<IAllowAnonymous>().Any())
        {
            statuses[401] = "No valid API key or token.";
            statuses[403] = "The key lacks the role this route needs (requiredRole), or an invoker key is limited to other groups.";
        }
        if (method is "POST" or "PUT" or "PATCH")
        {
            statuses[400] = "The body or a parameter is invalid; the detail names what and where.";
            statuses[413] = "The body is over the limit; the detail names the setting.";
        }
        if (context.Description.RelativePath?.Contains('{') == true)
            statuses[404] = "Nothing by that name.";
        if (metadata.OfType<EnableRateLimitingAttribute>().Any())
            statuses[429] = "Over the principal's rate limit; Retry-After says when to retry.";
        statuses[414] = "The path is too long.";

        operation.Responses ??= [];
        var schema = await context.GetOrCreateSchemaAsync(typeof(ProblemDetails), null, cancellationToken);
        foreach (var (status, description) in statuses)
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (operation.Responses.ContainsKey(key))
                continue;
            operation.Responses[key] = new OpenApiResponse
            {
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/problem+json"] = new() { Schema = schema } },
            };
        }
    }
}
