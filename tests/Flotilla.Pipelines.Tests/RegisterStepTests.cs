using Flotilla.Pipelines.Execution;

namespace Flotilla.Pipelines.Tests;

public sealed class RegisterStepTests
{
    [Fact]
    public async Task Rerunning_an_unchanged_execution_reports_the_latest_version_instead_of_registering_a_duplicate()
    {
        await using var host = await PipelineHost.StartAsync();
        await host.Datasets.RegisterAsync("bc", SharedData.Dataset("breast-cancer.csv"), "CLASS", [], CancellationToken.None);
        var parameters = new { DatasetName = "bc", MaxTuningJobs = 2, CrossValidationFolds = 2, Algorithms = "NaiveBayes" };

        var first = await host.RunAsync("multimodel", parameters);
        var second = await host.RunAsync("multimodel", parameters);

        Assert.Equal(ExecutionStatus.Succeeded, first.Status);
        Assert.Equal(ExecutionStatus.Succeeded, second.Status);
        var registered = first.Steps.Single(s => s.Name == "Register");
        var reported = second.Steps.Single(s => s.Name == "Register");
        Assert.Equal(registered.Outputs!["artifactSha256"]!.GetValue<string>(), reported.Outputs!["artifactSha256"]!.GetValue<string>());
        Assert.Equal(1, reported.Outputs["version"]!.GetValue<long>());
        Assert.Contains("not registered again", reported.Log);
        Assert.Single(await host.Registry.ListPackagesAsync("multimodel-bc", null, Flotilla.Registry.PackageSort.Version, CancellationToken.None));
    }
}
