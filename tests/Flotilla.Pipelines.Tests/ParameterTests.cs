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

public sealed class DecisionThresholdParameterTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private PipelineDefinition BuiltIn => DefinitionReader.Parse(PipelineCatalog.BuiltInText, fixture.Steps);

    private JsonObject Bind(JsonNode? threshold) => ParameterBinder.Bind(BuiltIn, new Dictionary<string, JsonNode?>
    {
        ["DatasetName"] = "iris",
        ["DecisionThreshold"] = threshold,
    });

    [Fact]
    public void The_decision_threshold_is_f1_by_default_a_rule_name_or_a_number_in_the_open_unit_interval_kept_as_text()
    {
        var defaults = ParameterBinder.Bind(BuiltIn, new Dictionary<string, JsonNode?> { ["DatasetName"] = "iris" });

        Assert.Equal("f1", defaults["DecisionThreshold"]!.GetValue<string>());
        Assert.Equal("youden", Bind("Youden")["DecisionThreshold"]!.GetValue<string>());
        Assert.Equal("balanced_accuracy", Bind("balanced_accuracy")["DecisionThreshold"]!.GetValue<string>());
        Assert.Equal("0.35", Bind(0.35)["DecisionThreshold"]!.GetValue<string>());
        Assert.Equal("0.35", Bind("0.35")["DecisionThreshold"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("median")]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1.5")]
    public void Anything_else_is_refused_naming_the_parameter_the_rules_and_the_range(string value)
    {
        var error = Assert.Throws<ParameterException>(() => Bind(value));

        var problem = Assert.Single(error.Errors);
        Assert.Equal("DecisionThreshold", problem.Where);
        Assert.Contains("not one of f1, balanced_accuracy, youden, nor a number in (0, 1)", problem.Message);
    }

    [Fact]
    public void A_range_on_a_string_parameter_is_still_refused_when_the_definition_is_read()
    {
        var error = Assert.Throws<DefinitionException>(() => DefinitionReader.Parse("""
            name: ranged
            parameters:
              - { name: Mode, type: string, default: a, min: 0, max: 1 }
            steps:
              - { name: s, type: Process, command: [sh, -c, "true"] }
            """, fixture.Steps));

        Assert.Contains(error.Errors, e => e.Message.Contains("Only int, float and enum parameters have min and max"));
    }
}
