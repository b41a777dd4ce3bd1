using System.CommandLine;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Demo;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;
using Flotilla.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla demo [--quick] [--data DIR] [--exit]</c>: the whole product on a new machine in one command —
/// an embedded server, two generated datasets, both pipelines at once with live progress, approval,
/// deployment, an invocation of every model, then the UI address.
/// </summary>
internal sealed class DemoCommand : Command
{
    private static readonly Option<bool> QuickOption = new("--quick") { Description = "A small tuning budget (8 trials, 3 folds): the demo ends in about a minute." };
    private static readonly Option<DirectoryInfo?> DataOption = new("--data") { Description = "Keep the demo's metadata and artifacts in this folder (default: a new temporary folder).", HelpName = "DIR" };
    private static readonly Option<bool> ExitOption = new("--exit") { Description = "Stop the server when the demo is done instead of serving the UI until Ctrl+C." };
    private static readonly Option<string> UrlsOption = new("--urls") { Description = "Where the embedded server listens (default: a free port on 127.0.0.1).", HelpName = "URL", DefaultValueFactory = _ => "http://127.0.0.1:0" };

    private static readonly TimeSpan DeploymentTimeout = TimeSpan.FromSeconds(90);

    public DemoCommand() : base("demo", "Start an embedded server, train and deploy two example models, and invoke them.")
    {
        Options.Add(QuickOption);
        Options.Add(DataOption);
        Options.Add(ExitOption);
        Options.Add(UrlsOption);
        SetAction(async (parseResult, cancellationToken) =>
        {
            var invocation = parseResult.InvocationConfiguration;
            var console = CliConsole.Create(invocation.Output, invocation.Error, json: false);
            var data = parseResult.GetValue(DataOption)?.FullName ?? Directory.CreateTempSubdirectory("flotilla-demo-").FullName;
            Directory.CreateDirectory(data);

            WebApplication app;
            try
            {
                app = FlotillaServer.Build(
                    ["--urls", parseResult.GetRequiredValue(UrlsOption), $"--Flotilla:DataDirectory={data}"],
                    builder => builder.Logging
                        .SetMinimumLevel(LogLevel.Error)
                        // Orleans reports a busy laptop (thread-pool stalls) as errors; the demo reports real failures itself.
                        .AddFilter("Orleans", LogLevel.Critical));
                await app.StartAsync(cancellationToken);
            }
            catch (Exception e) when (e is OptionsValidationException or IOException or InvalidOperationException)
            {
                console.Fail($"The embedded server did not start: {e.Message}");
                return ExitCodes.Failure;
            }
            try
            {
                var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
                console.Markup($"Flotilla server on [link]{address}[/] (data in {Markup.Escape(data)})");
                // The server wrote its first admin key into the demo's own data folder; the demo uses it, and the
                // browser gets it in the URL fragment, which the browser never sends to the server.
                var key = Credentials.ReadKeyFile(data)
                    ?? throw new InvalidOperationException($"The embedded server wrote no {Credentials.AdminKeyFile} in {data}.");
                using var client = FlotillaClient.Create(address, key);
                var exit = await ClientCommand.RunGuardedAsync(console,
                    () => RunDemoAsync(client, console, data, parseResult.GetValue(QuickOption), cancellationToken));

                console.Markup($"Web UI (logged in by this link): [link]{address}#key={key}[/]");
                console.Markup($"API: {address}openapi/v1.json, with 'Authorization: Bearer' and the admin key in {Markup.Escape(Path.Combine(data, Credentials.AdminKeyFile))}");
                if (!parseResult.GetValue(ExitOption) && exit == ExitCodes.Success)
                {
                    console.Line("Serving until Ctrl+C.");
                    try
                    {
                        await Task.Delay(Timeout.Infinite, cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        // Ctrl+C: the normal way to end the demo.
                    }
                }
                return exit;
            }
            finally
            {
                await app.StopAsync(CancellationToken.None);
                await app.DisposeAsync();
            }
        });
    }

    private static async Task<int> RunDemoAsync(FlotillaClient client, CliConsole console, string data, bool quick, CancellationToken cancellationToken)
    {
        var datasets = ExampleDatasets.Generate();
        var folder = Directory.CreateDirectory(Path.Combine(data, "examples")).FullName;
        foreach (var dataset in datasets)
        {
            var file = new FileInfo(Path.Combine(folder, dataset.Name + ".csv"));
            await File.WriteAllTextAsync(file.FullName, dataset.Csv, cancellationToken);
            await DatasetAddCommand.AddAsync(client, dataset.Name, file, dataset.Target, dataset.Exclude, serverPath: false, cancellationToken);
            console.Line($"Dataset {dataset.Name}: {dataset.Description}");
        }

        var runs = new List<(string Label, string Id)>();
        foreach (var dataset in datasets)
        {
            var parameters = new JsonObject
            {
                ["DatasetName"] = dataset.Name,
                ["MaxTuningJobs"] = quick ? 8 : 40,
                ["CrossValidationFolds"] = quick ? 3 : 5,
            };
            var started = await client.StartExecutionAsync(RunCommand.BuiltInPipeline, parameters, cancellationToken);
            runs.Add(($"{RunCommand.BuiltInPipeline}-{dataset.Name}", started.ExecutionId));
        }
        console.Line($"Running the {RunCommand.BuiltInPipeline} pipeline for {runs.Count} datasets at once:");
        var results = await new ExecutionProgress(client, console, TimeProvider.System).WatchAsync(runs, cancellationToken);
        if (results.Any(r => !r.Succeeded))
        {
            console.Fail("An execution did not succeed (see above); nothing more to deploy.");
            return ExitCodes.ExecutionFailed;
        }

        var approved = new List<(string Group, string PackageId, ExampleDataset Dataset)>();
        for (var i = 0; i < runs.Count; i++)
        {
            var group = runs[i].Label;
            var package = await PackageReference.ResolveAsync(client, group, cancellationToken);
            await client.UpdateApprovalAsync(package.Id, ApprovalStatus.Approved, "Approved by flotilla demo", cancellationToken);
            console.Line($"Approved {group} v{package.Version} (package {package.Id}).");
            approved.Add((group, package.Id, datasets[i]));
        }

        await WaitForDeploymentAsync(client, console, approved.Select(a => (a.Group, a.PackageId)).ToList(), cancellationToken);

        foreach (var (group, _, dataset) in approved)
        {
            var rows = InvokeCommand.ToJsonRows(dataset.SampleCsv);
            var predictions = (await client.InvokeAsync(group, rows, cancellationToken)).Predictions;
            console.Line($"Predictions of {group} for {predictions.Count} new rows:");
            // Each prediction beside the first few values of the row it scored.
            var shown = predictions.Zip(rows.OfType<JsonObject>(), (p, row) => (Row: string.Join(", ", row.Take(4).Select(c => $"{c.Key}={CliConsole.Text(c.Value)}")) + ", …", p));
            console.Table(shown, ("row", s => s.Row), ("label", s => s.p.Label), ("probability", s => s.p.Probability));
        }
        return ExitCodes.Success;
    }

    /// <summary>Polls the endpoint's alias map until every approved package is what its group serves.</summary>
    private static async Task WaitForDeploymentAsync(FlotillaClient client, CliConsole console, IReadOnlyList<(string Group, string PackageId)> expected, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(DeploymentTimeout);
        var started = TimeProvider.System.GetTimestamp();
        while (true)
        {
            var aliases = (await client.GetEndpointAsync(cancellationToken)).Aliases;
            var missing = expected.Where(e => !aliases.Any(a => a.Group == e.Group && a.PackageId == e.PackageId)).ToList();
            if (missing.Count == 0)
            {
                console.Line($"Deployed {string.Join(", ", expected.Select(e => e.Group))} to the endpoint in {TimeProvider.System.GetElapsedTime(started).TotalSeconds:0.0} s.");
                return;
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new FlotillaApiException(System.Net.HttpStatusCode.GatewayTimeout,
                    $"{string.Join(", ", missing.Select(m => m.Group))} not deployed {DeploymentTimeout.TotalSeconds:0} s after approval; check `flotilla endpoint` and the server log.");
            }
        }
    }
}
