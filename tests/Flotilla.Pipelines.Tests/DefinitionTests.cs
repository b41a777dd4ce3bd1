using Flotilla.Pipelines.Definitions;
using Flotilla.Pipelines.Steps;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Pipelines.Tests;

public sealed class HostFixture : IAsyncLifetime
{
    public PipelineHost Host { get; private set; } = null!;

    public StepCatalog Steps => Host.Services.GetRequiredService<StepCatalog>();

    public async Task InitializeAsync() => Host = await PipelineHost.StartAsync();

    public async Task DisposeAsync() => await Host.DisposeAsync();
}

public sealed class DefinitionTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private IReadOnlyList<DefinitionError> Errors(string yaml) =>
        Assert.Throws<DefinitionException>(() => DefinitionReader.Parse(yaml, fixture.Steps)).Errors;

    [Fact]
    public void The_built_in_pipeline_is_valid_and_has_the_reference_parameters()
    {
        var definition = DefinitionReader.Parse(PipelineCatalog.BuiltInText, fixture.Steps);
        Assert.Equal("multimodel", definition.Name);
        Assert.Equal(
            ["DatasetName", "StratifySplit", "TestSetSize", "RandomState", "CrossValidationScorer", "CrossValidationFolds",
             "TuningStrategy", "MaxTuningJobs", "MaxTuningParallelJobs", "TuningPruning", "MaxTuningSeconds", "WarmStart",
             "Algorithms", "EnsembleSize", "MetricForRegistrationThreshold",
             "MinThresholdForRegisterMetric", "MinImprovementOverServed", "DecisionThreshold", "RegisterModelApprovalStatus"],
            definition.Parameters.Select(p => p.Name));
        Assert.Same(definition.FindParameter("MinThresholdForRegisterMetric"), definition.FindParameter("MinThesholdForRegisterMetric"));
        Assert.Equal(["Preprocess", "Tune", "Refit", "Evaluate", "CheckMetric", "CheckChampion", "Register", "MetricBelowThreshold", "WorseThanServed"], definition.Steps.Select(s => s.Name));
    }

    [Fact]
    public void An_unknown_step_type_is_refused_naming_the_step()
    {
        var errors = Errors("""
            name: p
            steps:
              - name: first
                type: Teleport
            """);
        var error = Assert.Single(errors);
        Assert.Equal("steps[first].type", error.Where);
        Assert.Contains("Unknown step type 'Teleport'", error.Message);
        Assert.Contains("Process", error.Message);
    }

    [Fact]
    public void An_unknown_parameter_is_refused_naming_the_input()
    {
        var errors = Errors("""
            name: p
            parameters:
              - { name: Size, type: int, default: 3 }
            steps:
              - name: run
                type: Process
                command: [sh, -c, "true"]
                inputs:
                  n: { parameter: Sise }
            """);
        var error = Assert.Single(errors);
        Assert.Equal("steps[run].inputs.n", error.Where);
        Assert.Contains("Unknown parameter 'Sise'", error.Message);
    }

    [Fact]
    public void A_cycle_is_refused_naming_its_steps()
    {
        var errors = Errors("""
            name: p
            steps:
              - { name: a, type: Process, command: [sh, -c, "true"], inputs: { x: { step: c, output: exitCode } } }
              - { name: b, type: Process, command: [sh, -c, "true"], dependsOn: [a] }
              - { name: c, type: Process, command: [sh, -c, "true"], dependsOn: [b] }
            """);
        var error = Assert.Single(errors);
        Assert.Contains("Cycle", error.Message);
        Assert.Contains("a → c → b → a", error.Message);
    }

    [Fact]
    public void A_type_mismatch_is_refused_naming_both_types()
    {
        var errors = Errors("""
            name: p
            parameters:
              - { name: Dataset, type: string, default: x }
              - { name: Label, type: string, default: y }
            steps:
              - name: prep
                type: Preprocess
                inputs:
                  dataset: { parameter: Dataset }
                  testSize: { parameter: Label }
              - name: gate
                type: Condition
                condition: { ge: [{ step: prep, output: rows }, { parameter: Label }] }
            """);
        Assert.Collection(errors.OrderBy(e => e.Where, StringComparer.Ordinal),
            e =>
            {
                Assert.Equal("steps[gate].condition.ge", e.Where);
                Assert.Contains("cannot compare output 'prep.rows' (int) with parameter 'Label' (string)", e.Message);
            },
            e =>
            {
                Assert.Equal("steps[prep].inputs.testSize", e.Where);
                Assert.Contains("takes float, but parameter 'Label' is string", e.Message);
            });
    }

    [Fact]
    public void Dangling_references_and_unknown_inputs_are_refused()
    {
        var errors = Errors("""
            name: p
            steps:
              - name: eval
                type: Evaluate
                inputs:
                  model: { step: Train, output: model }
                  test: "/tmp/test.csv"
                  target: label
                  colour: blue
              - name: gate
                type: Condition
                condition: { gt: [{ step: eval, output: score }, 0.5] }
                ifTrue: [Nowhere]
            """);
        Assert.Contains(errors, e => e.Where == "steps[eval].inputs.model" && e.Message.Contains("no step named 'Train'"));
        Assert.Contains(errors, e => e.Where == "steps[eval].inputs.colour" && e.Message.Contains("Evaluate has no input 'colour'"));
        Assert.Contains(errors, e => e.Where == "steps[gate].condition.gt[0]" && e.Message.Contains("has no output 'score'"));
        Assert.Contains(errors, e => e.Where == "steps[gate].ifTrue" && e.Message.Contains("Unknown step 'Nowhere'"));
    }

    [Fact]
    public void Shape_errors_name_the_field_and_bad_yaml_names_the_line()
    {
        var shape = Errors("""
            name: p
            parameters:
              - { name: N, type: integer }
              - { name: M, type: enum }
              - { name: K, type: float, default: 5, max: 1 }
            steps:
              - { name: s, type: Process, command: [sh], retry: { maxAttempts: 0 }, colour: red }
            """);
        Assert.Contains(shape, e => e.Where == "parameters[N].type" && e.Message.Contains("Unknown parameter type 'integer'"));
        Assert.Contains(shape, e => e.Where == "steps[s].colour" && e.Message.Contains("Unknown field 'colour'"));
        Assert.Contains(shape, e => e.Where == "steps[s].retry.maxAttempts");

        var yaml = Errors("name: p\nsteps: [ { name: a\n");
        Assert.StartsWith("line ", Assert.Single(yaml).Where);
    }

    [Fact]
    public void The_same_definition_reads_from_json()
    {
        var definition = DefinitionReader.Parse("""
            { "name": "j", "parameters": [{ "name": "N", "type": "int", "default": 2, "min": 1 }],
              "steps": [{ "name": "s", "type": "Process", "command": ["sh", "-c", "true"], "inputs": { "n": { "parameter": "N" } } }] }
            """, fixture.Steps);
        Assert.Equal(2, definition.Parameters[0].Default!.GetValue<long>());
        Assert.IsType<ParameterReference>(definition.Steps[0].Inputs["n"]);

        var flow = DefinitionReader.Parse("{ name: f, steps: [ { name: s, type: Process, command: [sh, -c, 'true'] } ] }", fixture.Steps);
        Assert.Equal("f", flow.Name);
    }
}
