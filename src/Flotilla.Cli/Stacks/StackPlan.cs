using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Commands;
using Flotilla.Cli.Terminal;

namespace Flotilla.Cli.Stacks;

/// <summary>One difference between the stack and the server, and how to close it.</summary>
internal sealed record StackChange(char Symbol, string Kind, string Name, string Detail, Func<CancellationToken, Task> ApplyAsync);

/// <summary>
/// Compares a stack with what the server has. <see cref="ForApplyAsync"/> lists what to create (datasets,
/// runs whose parameters no succeeded or running execution has, approvals for groups not yet served);
/// <see cref="ForDestroyAsync"/> lists what to remove (withdraw served groups, stop running executions,
/// delete the datasets). Applying is in order: datasets, runs (followed live), approvals.
/// </summary>
internal sealed class StackPlan(FlotillaClient client, CliConsole console)
{
    public async Task<IReadOnlyList<StackChange>> ForApplyAsync(StackFile stack, CancellationToken cancellationToken)
    {
        var changes = new List<StackChange>();
        var datasets = Rows(await client.GetAsync("/api/datasets", cancellationToken), "datasets");
        foreach (var dataset in stack.Datasets)
        {
            var existing = datasets.FirstOrDefault(d => CliConsole.Text(d["name"]) == dataset.Name);
            var csv = new FileInfo(Path.Combine(stack.BaseDirectory, dataset.Csv));
            if (existing is null)
            {
                if (!csv.Exists)
                {
                    throw new StackException($"datasets '{dataset.Name}': csv {csv.FullName} does not exist.");
                }
                changes.Add(new('+', "dataset", dataset.Name, $"{dataset.Csv}, target {dataset.Target}",
                    ct => DatasetAddCommand.AddAsync(client, dataset.Name, csv, dataset.Target, dataset.Exclude, serverPath: false, ct)));
            }
            else if (ExecutionSnapshot.Str(existing, "target", "targetColumn") is { } target && target != dataset.Target)
            {
                changes.Add(new('!', "dataset", dataset.Name, $"exists with target {target}, stack says {dataset.Target}; run destroy first", _ => Task.CompletedTask));
            }
        }

        var executions = Rows(await client.GetAsync("/api/executions", cancellationToken), "executions");
        var runs = new List<(string Label, string Id)>();
        foreach (var run in stack.Runs)
        {
            var parameters = Parameters(run);
            var label = $"{run.Pipeline}-{run.Parameters["DatasetName"]}";
            if (await FindExecutionAsync(executions, run, parameters, ["Succeeded", "Executing"], cancellationToken) is null)
            {
                changes.Add(new('+', "run", label, CliConsole.Text(parameters), async ct =>
                {
                    var id = await RunCommand.StartAsync(client, run.Pipeline, parameters, ct);
                    runs.Add((label, id));
                }));
            }
        }
        if (changes.Any(c => c.Kind == "run"))
        {
            changes.Add(new('=', "wait", "runs", "follow the new executions until they end", async ct =>
            {
                var results = await new ExecutionProgress(client, console, TimeProvider.System).WatchAsync(runs, ct);
                if (results.FirstOrDefault(r => !r.Succeeded) is { } failed)
                {
                    throw new StackException($"execution {failed.Id} {failed.Status}: {failed.FailureReason}");
                }
            }));
        }

        var served = EndpointCommand.AliasRows(await client.GetAsync("/api/endpoint", cancellationToken)).OfType<JsonObject>()
            .ToDictionary(a => CliConsole.Text(a["group"]), a => CliConsole.Text(a["version"]));
        foreach (var group in stack.Endpoint.Deploy.Where(g => !served.ContainsKey(g) && !stack.Endpoint.Pin.ContainsKey(g)))
        {
            changes.Add(new('+', "deployment", group, "approve the group's latest version", async ct =>
            {
                var package = await PackageReference.ResolveAsync(client, group, ct);
                await ReviewCommand.SetStatusAsync(client, PackageReference.Id(package), "Approved", "Approved by flotilla apply", ct);
            }));
        }
        foreach (var (group, version) in stack.Endpoint.Pin)
        {
            var current = served.GetValueOrDefault(group);
            if (current != version.ToString(System.Globalization.CultureInfo.InvariantCulture))
            {
                changes.Add(new(current is null ? '+' : '~', "deployment", group, $"pin version {version}" + (current is null ? "" : $" (serving v{current})"), ct =>
                    client.PutJsonAsync($"/api/endpoint/aliases/{Uri.EscapeDataString(group)}", new JsonObject { ["version"] = version }, ct)));
            }
        }
        return changes;
    }

    public async Task<IReadOnlyList<StackChange>> ForDestroyAsync(StackFile stack, CancellationToken cancellationToken)
    {
        var changes = new List<StackChange>();
        var aliases = EndpointCommand.AliasRows(await client.GetAsync("/api/endpoint", cancellationToken)).OfType<JsonObject>().ToList();
        foreach (var group in stack.Endpoint.Deploy.Concat(stack.Endpoint.Pin.Keys).Distinct())
        {
            if (aliases.FirstOrDefault(a => CliConsole.Text(a["group"]) == group) is { } alias)
            {
                var id = CliConsole.Text(alias["packageId"] ?? alias["id"]);
                changes.Add(new('-', "deployment", group, $"reject package {id}", ct =>
                    ReviewCommand.SetStatusAsync(client, id, "Rejected", "Withdrawn by flotilla destroy", ct)));
            }
        }

        var executions = Rows(await client.GetAsync("/api/executions", cancellationToken), "executions");
        foreach (var run in stack.Runs)
        {
            if (await FindExecutionAsync(executions, run, Parameters(run), ["Executing"], cancellationToken) is { } running)
            {
                var id = CliConsole.Text(running["id"] ?? running["executionId"]);
                changes.Add(new('-', "run", $"{run.Pipeline}-{run.Parameters["DatasetName"]}", $"stop execution {id}", ct =>
                    client.PostJsonAsync($"/api/executions/{Uri.EscapeDataString(id)}/stop", new { }, ct)));
            }
        }

        var datasets = Rows(await client.GetAsync("/api/datasets", cancellationToken), "datasets");
        foreach (var dataset in stack.Datasets.Where(d => datasets.Any(s => CliConsole.Text(s["name"]) == d.Name)))
        {
            changes.Add(new('-', "dataset", dataset.Name, "delete", async ct =>
            {
                try
                {
                    await client.DeleteAsync($"/api/datasets/{Uri.EscapeDataString(dataset.Name)}", ct);
                }
                catch (FlotillaApiException e) when (e.Status is HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotFound)
                {
                    throw new StackException($"this server cannot delete datasets (DELETE /api/datasets/{dataset.Name} answered {(int)e.Status}); '{dataset.Name}' is kept.");
                }
            }));
        }
        return changes;
    }

    private static JsonObject Parameters(StackRun run) =>
        RunCommand.ParseParameters(run.Parameters.Select(p => $"{p.Key}={p.Value}"));

    /// <summary>An execution of the run's pipeline whose parameters include every parameter the stack sets.</summary>
    private async Task<JsonObject?> FindExecutionAsync(List<JsonObject> executions, StackRun run, JsonObject parameters, string[] statuses, CancellationToken cancellationToken)
    {
        foreach (var summary in executions.Where(e => statuses.Contains(ExecutionSnapshot.Str(e, "status"))))
        {
            if (ExecutionSnapshot.Str(summary, "pipeline", "pipelineName") is { } pipeline && pipeline != run.Pipeline)
            {
                continue;
            }
            var execution = summary["parameters"] is JsonObject
                ? summary
                : (JsonObject)await client.GetAsync($"/api/executions/{Uri.EscapeDataString(CliConsole.Text(summary["id"] ?? summary["executionId"]))}", cancellationToken);
            if (execution["parameters"] is JsonObject actual
                && parameters.All(p => actual[p.Key] is { } value && Canonical(value) == Canonical(p.Value)))
            {
                return execution;
            }
        }
        return null;
    }

    /// <summary>A parameter value as comparable text: a list and its comma-separated spelling compare equal.</summary>
    private static string Canonical(JsonNode? value) =>
        string.Join(",", CliConsole.Text(value).Split(',', StringSplitOptions.TrimEntries));

    private static List<JsonObject> Rows(JsonNode answer, string wrapper) =>
        (answer as JsonArray ?? answer[wrapper] as JsonArray ?? []).OfType<JsonObject>().ToList();
}
