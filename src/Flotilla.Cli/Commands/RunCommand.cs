using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla run [PIPELINE] -p Name=Value … [--wait]</c>: start an execution, optionally follow it live.</summary>
internal sealed class RunCommand : ClientCommand
{
    public const string BuiltInPipeline = "multimodel";

    private static readonly Argument<string> PipelineArgument = new("PIPELINE")
    {
        Description = "Pipeline to run (the built-in one by default).",
        Arity = ArgumentArity.ZeroOrOne,
        DefaultValueFactory = _ => BuiltInPipeline,
    };

    private static readonly Option<string[]> ParameterOption = new("--parameter", "-p")
    {
        Description = "A pipeline parameter, e.g. -p DatasetName=churn -p MaxTuningJobs=20 (repeatable).",
        HelpName = "Name=Value",
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<bool> WaitOption = new("--wait", "-w")
    {
        Description = "Follow the execution live until it ends; the exit code says whether it succeeded.",
    };

    public RunCommand() : base("run", "Start a pipeline execution.")
    {
        Arguments.Add(PipelineArgument);
        Options.Add(ParameterOption);
        Options.Add(WaitOption);
    }

    protected override async Task<int> ExecuteAsync(ParseResult parseResult, CliConsole console, FlotillaClient client, CancellationToken cancellationToken)
    {
        var pipeline = parseResult.GetValue(PipelineArgument) ?? BuiltInPipeline;
        var parameters = ParseParameters(parseResult.GetValue(ParameterOption) ?? []);
        var started = await client.StartExecutionAsync(pipeline, parameters, cancellationToken);
        var id = started.ExecutionId;

        if (!parseResult.GetValue(WaitOption))
        {
            if (console.Json)
            {
                console.WriteJson(started);
            }
            else
            {
                console.Line($"Started execution {id} of {pipeline}; follow it with `flotilla executions {id}` or re-run with --wait.");
            }
            return ExitCodes.Success;
        }

        var label = parameters["DatasetName"] is JsonNode dataset ? $"{pipeline}-{CliConsole.Text(dataset)}" : pipeline;
        var result = (await new ExecutionProgress(client, console, TimeProvider.System).WatchAsync([(label, id)], cancellationToken))[0];
        if (console.Json)
        {
            console.WriteJson(result.Execution);
        }
        return result.Succeeded ? ExitCodes.Success : ExitCodes.ExecutionFailed;
    }

    /// <summary>"-p Name=Value" pairs as JSON: numbers and booleans typed, everything else a string (the server validates).</summary>
    public static JsonObject ParseParameters(IEnumerable<string> pairs)
    {
        var parameters = new JsonObject();
        foreach (var pair in pairs)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new CliInputException($"Parameter '{pair}' is not Name=Value; write it like -p MaxTuningJobs=20.");
            }
            var name = pair[..equals].Trim();
            var value = pair[(equals + 1)..].Trim();
            parameters[name] = Typed(value);
        }
        return parameters;
    }

    private static JsonNode Typed(string value) =>
        bool.TryParse(value, out var b) ? JsonValue.Create(b)
        : long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? JsonValue.Create(l)
        : double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? JsonValue.Create(d)
        : JsonValue.Create(value);
}
