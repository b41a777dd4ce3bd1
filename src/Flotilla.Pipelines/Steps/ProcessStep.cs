using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Runs a user's command. It gets an input folder (<c>inputs.json</c> and a copy of every input that is a file),
/// an empty output folder, and every input and parameter as environment variables
/// (<c>FLOTILLA_INPUT_&lt;NAME&gt;</c>, <c>FLOTILLA_PARAM_&lt;NAME&gt;</c>); arguments may contain
/// <c>${inputs.name}</c> and <c>${Parameter}</c>. Standard output and error become the step log; a non-zero exit
/// fails the step. Outputs: <c>directory</c>, <c>exitCode</c>, and the properties of <c>output/outputs.json</c>
/// if the command wrote one.
/// </summary>
public sealed class ProcessStep : StepKind
{
    public override string Type => "Process";

    public override IReadOnlyList<InputSpec> Inputs { get; } = [];

    public override IReadOnlyList<OutputSpec> Outputs { get; } = [];

    public override bool AcceptsAnyInputs => true;

    public override bool HasOpenOutputs => true;

    public override IEnumerable<DefinitionError> Validate(StepDefinition step, string where)
    {
        if (step.Command is not { Count: > 0 } || string.IsNullOrWhiteSpace(step.Command[0]))
        {
            yield return new($"{where}.command", "A Process step needs a command: a list whose first item is the program, e.g. [sh, -c, \"echo hi\"].");
        }
        if (step.TimeoutSeconds is <= 0)
        {
            yield return new($"{where}.timeoutSeconds", "Must be a positive number of seconds.");
        }
    }

    public override async Task<JsonObject> RunAsync(StepContext context, CancellationToken cancellationToken)
    {
        var inputDirectory = Path.Combine(context.WorkDirectory, "input");
        var outputDirectory = Path.Combine(context.WorkDirectory, "output");
        foreach (var directory in new[] { inputDirectory, outputDirectory })
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
            Directory.CreateDirectory(directory);
        }

        await File.WriteAllTextAsync(Path.Combine(inputDirectory, "inputs.json"), context.Inputs.ToJsonString(), cancellationToken);
        var start = new ProcessStartInfo(Substitute(context.Step.Command![0], context))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = context.WorkDirectory,
        };
        foreach (var argument in context.Step.Command.Skip(1))
        {
            start.ArgumentList.Add(Substitute(argument, context));
        }

        foreach (var (name, value) in context.Inputs)
        {
            var text = ValueResolver.AsText(value);
            if (value is JsonValue && File.Exists(text))
            {
                var copy = Path.Combine(inputDirectory, name + Path.GetExtension(text));
                File.Copy(text, copy, overwrite: true);
                text = copy;
            }
            start.Environment[$"FLOTILLA_INPUT_{EnvName(name)}"] = text;
        }
        foreach (var (name, value) in context.Parameters)
        {
            start.Environment[$"FLOTILLA_PARAM_{EnvName(name)}"] = ValueResolver.AsText(value);
        }
        start.Environment["FLOTILLA_INPUT_DIR"] = inputDirectory;
        start.Environment["FLOTILLA_OUTPUT_DIR"] = outputDirectory;
        start.Environment["FLOTILLA_EXECUTION_ID"] = context.ExecutionId;
        start.Environment["FLOTILLA_STEP"] = context.Step.Name;
        start.Environment["FLOTILLA_ATTEMPT"] = context.Attempt.ToString(System.Globalization.CultureInfo.InvariantCulture);

        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) context.Log.Line(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) context.Log.Line($"[stderr] {e.Data}"); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new StepFailedException($"{context.Where}.command: cannot start '{start.FileName}': {e.Message}. Check the program name and that it is on the server's PATH.");
        }
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (context.Step.TimeoutSeconds is { } seconds)
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"The command did not finish within {context.Step.TimeoutSeconds} s and was killed.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The command exited with code {process.ExitCode} (see the step log for its output).");
        }

        var outputs = new JsonObject { ["directory"] = outputDirectory, ["exitCode"] = 0 };
        var declared = Path.Combine(outputDirectory, "outputs.json");
        if (File.Exists(declared))
        {
            try
            {
                if (JsonNode.Parse(await File.ReadAllTextAsync(declared, cancellationToken)) is JsonObject written)
                {
                    foreach (var (name, value) in written)
                    {
                        outputs[name] = value?.DeepClone();
                    }
                }
            }
            catch (JsonException e)
            {
                throw new StepFailedException($"{context.Where}: the command wrote an outputs.json that is not valid JSON: {e.Message}");
            }
        }
        return outputs;
    }

    private static string Substitute(string text, StepContext context)
    {
        foreach (var (name, value) in context.Inputs)
        {
            text = text.Replace($"${{inputs.{name}}}", ValueResolver.AsText(value), StringComparison.Ordinal);
        }
        return context.Resolver.Interpolate(text);
    }

    private static string EnvName(string name) =>
        new([.. name.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToUpperInvariant(c) : '_')]);
}
