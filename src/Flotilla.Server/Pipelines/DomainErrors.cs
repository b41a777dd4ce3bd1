using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;

namespace Flotilla.Server.Pipelines;

/// <summary>Turns the pipelines component's typed failures into RFC 7807 problem details at the edge.</summary>
internal sealed class DomainErrors : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (DefinitionException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "The pipeline definition is invalid", e.Message, e.Errors);
        }
        catch (ParameterException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid parameters", e.Message, e.Errors);
        }
        catch (DatasetException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "The dataset cannot be read", e.Message, null);
        }
        catch (NotFoundException e)
        {
            return Problem(StatusCodes.Status404NotFound, "Not found", e.Message, null);
        }
        catch (ConflictException e)
        {
            return Problem(StatusCodes.Status409Conflict, "Conflict", e.Message, null);
        }
    }

    public static IResult Problem(int status, string title, string detail, IReadOnlyList<DefinitionError>? errors) =>
        TypedResults.Problem(
            detail: detail,
            statusCode: status,
            title: title,
            extensions: errors is null ? null : new Dictionary<string, object?>
            {
                ["errors"] = errors.Select(e => new Contracts.ProblemError(e.Where, e.Message)).ToArray(),
            });
}
