using System.Globalization;
using Flotilla.Learning.Data;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench;

/// <summary>
/// The tables the learning suites name on their command lines: a shared dataset by name (label CLASS),
/// <c>census:ROWS</c> (the census-like table), <c>scaling:ROWS</c> (the scaling suite's 20-column table) or
/// <c>missing:ROWS</c> (the same columns with 15% of the cells missing, the label's numbers missing when high),
/// the generated ones written to <c>generatedPath</c> first, with seed 42.
/// </summary>
internal static class BenchTables
{
    public static (Table Table, string Label) Load(string spec, string generatedPath, CancellationToken ct)
    {
        var parts = spec.Split(':');
        if (parts.Length == 1)
        {
            return (TableReader.Read(Path.Combine(RepositoryRoot(), "..", "shared", "datasets", spec + ".csv"), new CsvOptions("CLASS"), ct), "CLASS");
        }

        var rows = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var label = parts[0] == "census" ? Forest.CensusTable.Label : "label";
        if (parts[0] == "census")
        {
            Forest.CensusTable.Write(generatedPath, rows, seed: 42);
        }
        else if (parts[0] == "missing")
        {
            Scaling.ScalingBench.Generate(generatedPath, rows, seed: 42, missing: 0.15, informative: true);
        }
        else
        {
            Scaling.ScalingBench.Generate(generatedPath, rows, seed: 42);
        }

        return (TableReader.Read(generatedPath, new CsvOptions(label), ct), label);
    }
}
