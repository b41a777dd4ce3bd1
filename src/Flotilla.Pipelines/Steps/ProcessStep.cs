using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Pipelines.Datasets;
using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Execution;
using Flotilla.Storage.Artifacts;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// Runs a user's command. It gets an input folder (<c>inputs.json</c> and a copy of every input that is a file
/// an earlier step wrote), an empty output folder, and every input and parameter as environment variables
/// (<c>FLOTILLA_INPUT_&lt;NAME&gt;</c>, <c>FLOTILLA_PARAM_&lt;NAME&gt;</c>); arguments may contain
/// <c>${inputs.name}</c> and <c>${Parameter}</c>. Standard output and error become the step log; a non-zero exit
/// fails the step. Outputs: <c>directory</c>, <c>exitCode</c>, and the properties of <c>output/outputs.json</c>
/// if the command wrote one.
/// </summary>
/// <remarks>
/// Off unless <c>Flotilla:Pipelines:AllowProcessSteps</c> is true. The command's environment holds its
/// FLOTILLA_* variables and PATH only, never the server's (which may hold storage keys). With
/// <c>Flotilla:Pipelines:ProcessUser</c> it runs as that account in a private folder outside the data folder, and
/// its output folder is copied back without following links, so it can neither read nor smuggle out the
/// server's files.
/// </remarks>
public sealed class ProcessStep(IOptions<PipelineOptions> options, ArtifactCache cache) : StepKind
{
    public const string TypeName = "Process";

    public const string Disallowed =
        $"Process steps are switched off on this server: they run any command with the server's rights. An administrator enables them with {PipelineOptions.AllowProcessStepsSetting}=true (see the README's Pipelines section).";

    // The PATH a command gets when the server itself has none.
    private const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    public override string Type => TypeName;

    public override IReadOnlyList<InputSpec> Inputs { get; } = [];

    public override IReadOnlyList<OutputSpec> Outputs { get; } = [];

    public override bool AcceptsAnyInputs => true;

    public override bool HasOpenOutputs => true;

    /// <summary>Refuses a definition with Process steps while they are switched off, naming each one.</summary>
    public static void EnsureAllowed(PipelineDefinition definition, PipelineOptions options)
    {
        if (!options.AllowProcessSteps && definition.HasProcessStep)
        {
            throw new DefinitionException([.. definition.Steps.Where(s => s.Type == TypeName).Select(s => new DefinitionError($"steps[{s.Name}].type", Disallowed))]);
        }
    }

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
        // Checked again here: an execution started before the setting was switched off may resume after it.
        if (!options.Value.AllowProcessSteps)
        {
            throw new StepFailedException($"{context.Where}: {Disallowed}");
        }

        var account = options.Value.ProcessUser is { Length: > 0 } user ? await ProcessAccount.ResolveAsync(user, cancellationToken) : null;
        var folder = account is null ? context.WorkDirectory : Directory.CreateTempSubdirectory("flotilla-step-").FullName;
        try
        {
            return await RunInAsync(context, folder, account, cancellationToken);
        }
        finally
        {
            if (account is not null)
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private async Task<JsonObject> RunInAsync(StepContext context, string folder, ProcessAccount? account, CancellationToken cancellationToken)
    {
        var inputDirectory = Path.Combine(folder, "input");
        var outputDirectory = Path.Combine(folder, "output");
        foreach (var directory in new[] { inputDirectory, outputDirectory })
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
            Directory.CreateDirectory(directory);
        }

        await File.WriteAllTextAsync(Path.Combine(inputDirectory, "inputs.json"), context.Inputs.ToJsonString(), cancellationToken);
        var program = Substitute(context.Step.Command![0], context);
        var start = new ProcessStartInfo(account is null ? program : ProcessAccount.Launcher)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        if (account is not null)
        {
            foreach (var argument in account.LauncherArguments().Append(program))
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in context.Step.Command.Skip(1))
        {
            start.ArgumentList.Add(Substitute(argument, context));
        }

        start.Environment.Clear();
        start.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } path ? path : DefaultPath;
        foreach (var (name, value) in context.Inputs)
        {
            var text = ValueResolver.AsText(value);
            if (value is JsonValue && IsStepFile(text))
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
        if (account is not null)
        {
            await account.TakeOwnershipAsync(folder, cancellationToken);
        }

        await RunProcessAsync(context, start, account, cancellationToken);

        if (account is not null)
        {
            var kept = Path.Combine(context.WorkDirectory, "output");
            if (Directory.Exists(kept))
            {
                Directory.Delete(kept, recursive: true);
            }
            CopyWithoutLinks(new DirectoryInfo(outputDirectory), kept);
            outputDirectory = kept;
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

    private static async Task RunProcessAsync(StepContext context, ProcessStartInfo start, ProcessAccount? account, CancellationToken cancellationToken)
    {
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) context.Log.Line(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) context.Log.Line($"[stderr] {e.Data}"); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new StepFailedException(account is null
                ? $"{context.Where}.command: cannot start '{start.FileName}': {e.Message}. Check the program name and that it is on the server's PATH."
                : $"{context.Where}: cannot start {ProcessAccount.Launcher} to run the command as '{account.Name}': {e.Message}. Flotilla:Pipelines:ProcessUser needs util-linux's setpriv on the server's PATH.");
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
    }

    // Only files earlier steps wrote (here, or fetched from the artifact store into this machine's cache) are copied
    // in: a literal input naming /etc/shadow must not become a copy the command (perhaps running as a less
    // privileged account) can read.
    private bool IsStepFile(string text) =>
        Path.IsPathFullyQualified(text) && File.Exists(text)
        && SafePath.IsUnder(SafePath.Resolve(text), [options.Value.ExecutionsDirectory, cache.Root]);

    // The command owns its output folder: a link it left there could point at any file the server can read.
    private static void CopyWithoutLinks(DirectoryInfo source, string destination)
    {
        Directory.CreateDirectory(destination);
        foreach (var entry in source.EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is not null)
            {
                continue;
            }
            if (entry is DirectoryInfo directory)
            {
                CopyWithoutLinks(directory, Path.Combine(destination, entry.Name));
            }
            else if (entry is FileInfo file)
            {
                file.CopyTo(Path.Combine(destination, entry.Name));
            }
        }
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
