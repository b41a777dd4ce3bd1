using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Cli.Client;
using Flotilla.Cli.Commands;
using Flotilla.Cli.Terminal;
using Flotilla.Contracts;

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
        var datasets = await client.ListDatasetsAsync(cancellationToken);
        foreach (var dataset in stack.Datasets)
        {
            var existing = datasets.FirstOrDefault(d => d.Name == dataset.Name);
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
            else if (existing.Target != dataset.Target)
            {
                changes.Add(new('!', "dataset", dataset.Name, $"exists with target {existing.Target ?? "(none: scoring only)"}, stack says {dataset.Target}; run destroy first", _ => Task.CompletedTask));
            }
        }

        var executions = await client.ListExecutionsAsync(cancellationToken);
        var runs = new List<(string Label, string Id)>();
        foreach (var run in stack.Runs)
        {
            var parameters = Parameters(run);
            var label = $"{run.Pipeline}-{run.Parameters["DatasetName"]}";
            if (FindExecution(executions, run, parameters, [ExecutionStatus.Succeeded, ExecutionStatus.Executing]) is null)
            {
                changes.Add(new('+', "run", label, CliConsole.Text(parameters), async ct =>
                {
                    var started = await client.StartExecutionAsync(run.Pipeline, parameters, ct);
                    runs.Add((label, started.ExecutionId));
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

        var aliases = (await client.GetEndpointAsync(cancellationToken)).Aliases;
        var served = aliases.ToDictionary(a => a.Group, a => (int?)a.Version);
        foreach (var (group, canary) in stack.Endpoint.Canary.Where(c => served.ContainsKey(c.Key)))
        {
            var latest = await PackageReference.ResolveAsync(client, group, cancellationToken);
            if (latest.ApprovalStatus == ApprovalStatus.PendingManualApproval)
            {
                var rollout = new RolloutRequest("canary", canary.Steps, canary.BakeSeconds, canary.MinCalls);
                changes.Add(new('~', "deployment", group, $"canary of v{latest.Version} through {string.Join("/", canary.Steps)} % (serving v{served[group]})", ct =>
                    client.UpdateApprovalAsync(latest.Id, ApprovalStatus.Approved, "Approved by flotilla apply (canary)", ct, rollout)));
            }
        }
        foreach (var (group, traffic) in stack.Endpoint.Traffic)
        {
            var alias = aliases.FirstOrDefault(a => a.Group == group);
            if (!TrafficMatches(alias, traffic))
            {
                var request = new PinRequest(
                    null,
                    traffic.Routes.Count > 0 ? [.. traffic.Routes.Select(r => new RouteWeight(r.Key, r.Value))] : null,
                    traffic.StickyHeader,
                    traffic.Shadow is { } wanted ? new ShadowWeight(wanted.Version, wanted.Percent) : null);
                var detail = string.Join(", ", traffic.Routes.Select(r => $"v{r.Key}={r.Value}"))
                    + (traffic.Shadow is { } s ? $"{(traffic.Routes.Count > 0 ? ", " : "")}shadow v{s.Version} {s.Percent} %" : "");
                changes.Add(new(alias is null ? '+' : '~', "traffic", group, detail, ct => client.SetAliasAsync(group, request, ct)));
            }
        }
        foreach (var group in stack.Endpoint.Deploy.Where(g => !served.ContainsKey(g) && !stack.Endpoint.Pin.ContainsKey(g)))
        {
            changes.Add(new('+', "deployment", group, "approve the group's latest version", async ct =>
            {
                var package = await PackageReference.ResolveAsync(client, group, ct);
                await client.UpdateApprovalAsync(package.Id, ApprovalStatus.Approved, "Approved by flotilla apply", ct);
            }));
        }
        foreach (var (group, version) in stack.Endpoint.Pin)
        {
            var current = served.GetValueOrDefault(group);
            if (current != version)
            {
                changes.Add(new(current is null ? '+' : '~', "deployment", group, $"pin version {version}" + (current is null ? "" : $" (serving v{current})"), ct =>
                    client.PinAsync(group, version, ct)));
            }
        }
        return changes;
    }

    /// <summary>Whether the served alias already splits and shadows as the stack says.</summary>
    private static bool TrafficMatches(AliasView? alias, StackTraffic traffic)
    {
        if (alias is null)
        {
            return false;
        }
        var routes = (alias.Routes ?? []).Select(r => (r.Version, r.Weight)).Order().ToList();
        var wanted = traffic.Routes.Select(r => (Version: r.Key, Weight: r.Value)).Order().ToList();
        var shadow = alias.Shadow is { } s ? (s.Version, s.Percent) : default((int, int)?);
        var wantedShadow = traffic.Shadow is { } w ? (w.Version, w.Percent) : default((int, int)?);
        return (traffic.Routes.Count == 0 || routes.SequenceEqual(wanted)) && shadow == wantedShadow
            && (traffic.StickyHeader is null || alias.StickyHeader == traffic.StickyHeader);
    }

    public async Task<IReadOnlyList<StackChange>> ForDestroyAsync(StackFile stack, CancellationToken cancellationToken)
    {
        var changes = new List<StackChange>();
        var aliases = (await client.GetEndpointAsync(cancellationToken)).Aliases;
        foreach (var group in stack.Endpoint.Deploy.Concat(stack.Endpoint.Pin.Keys).Distinct())
        {
            if (aliases.FirstOrDefault(a => a.Group == group) is { } alias)
            {
                changes.Add(new('-', "deployment", group, $"reject package {alias.PackageId}", ct =>
                    client.UpdateApprovalAsync(alias.PackageId, ApprovalStatus.Rejected, "Withdrawn by flotilla destroy", ct)));
            }
        }

        var executions = await client.ListExecutionsAsync(cancellationToken);
        foreach (var run in stack.Runs)
        {
            if (FindExecution(executions, run, Parameters(run), [ExecutionStatus.Executing]) is { } running)
            {
                changes.Add(new('-', "run", $"{run.Pipeline}-{run.Parameters["DatasetName"]}", $"stop execution {running.Id}", ct =>
                    client.StopExecutionAsync(running.Id, ct)));
            }
        }

        var datasets = await client.ListDatasetsAsync(cancellationToken);
        foreach (var dataset in stack.Datasets.Where(d => datasets.Any(s => s.Name == d.Name)))
        {
            changes.Add(new('-', "dataset", dataset.Name, "delete", async ct =>
            {
                try
                {
                    await client.DeleteDatasetAsync(dataset.Name, ct);
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
    private static ExecutionSummary? FindExecution(IReadOnlyList<ExecutionSummary> executions, StackRun run, JsonObject parameters, ExecutionStatus[] statuses) =>
        executions.FirstOrDefault(e => statuses.Contains(e.Status) && e.Pipeline == run.Pipeline
            && parameters.All(p => e.Parameters[p.Key] is { } value && Canonical(value) == Canonical(p.Value)));

    /// <summary>A parameter value as comparable text: a list and its comma-separated spelling compare equal.</summary>
    private static string Canonical(JsonNode? value) =>
        string.Join(",", CliConsole.Text(value).Split(',', StringSplitOptions.TrimEntries));
}
