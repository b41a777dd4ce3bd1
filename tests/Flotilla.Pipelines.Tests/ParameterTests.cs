using System.Text.Json.Nodes;
using Flotilla.Pipelines.Definitions;

namespace Flotilla.Pipelines.Tests;

public sealed class ParameterTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private PipelineDefinition BuiltIn => DefinitionReader.Parse(PipelineCatalog.BuiltInText, fixture.Steps);

    [Fact]
    public void Defaults_fill_in_and_text_values_are_typed()
    {
        var bound = ParameterBinder.Bind(BuiltIn, new Dictionary<string, JsonNode?>
        {
            ["DatasetName"] = "iris",
            ["MaxTuningJobs"] = "12",
            ["StratifySplit"] = "false",
            ["Algorithms"] = "lightgbm, NaiveBayes",
            ["MinThesholdForRegisterMetric"] = 0.8,
        });
        Assert.Equal(12, bound["MaxTuningJobs"]!.GetValue<long>());
        Assert.False(bound["StratifySplit"]!.GetValue<bool>());
        Assert.Equal(["LightGBM", "NaiveBayes"], bound["Algorithms"]!.AsArray().Select(a => a!.GetValue<string>()));
        Assert.Equal(0.8, bound["MinThresholdForRegisterMetric"]!.GetValue<double>());
        Assert.Equal("roc_auc", bound["CrossValidationScorer"]!.GetValue<string>());
        Assert.Equal(0.2, bound["TestSetSize"]!.GetValue<double>());
    }

    [Fact]
    public void Unknown_names_and_bad_values_are_refused_each_named()
    {
        var error = Assert.Throws<ParameterException>(() => ParameterBinder.Bind(BuiltIn, new Dictionary<string, JsonNode?>
        {
            ["MaxTunigJobs"] = 5,
            ["TestSetSize"] = 1.5,
            ["CrossValidationFolds"] = 2.5,
            ["TuningStrategy"] = "Bayes",
            ["Algorithms"] = "RandomForest,SVM",
        }));
        var byName = error.Errors.ToDictionary(e => e.Where, e => e.Message);
        Assert.Contains("Unknown parameter 'MaxTunigJobs'", byName["MaxTunigJobs"]);
        Assert.Contains("outside (0, 1)", byName["TestSetSize"]);
        Assert.Contains("not a whole number", byName["CrossValidationFolds"]);
        Assert.Contains("not one of Random, Tpe, Grid", byName["TuningStrategy"]);
        Assert.Contains("'SVM' is not one of", byName["Algorithms"]);
        Assert.Contains("'DatasetName' is required", byName["DatasetName"]);
    }
}
