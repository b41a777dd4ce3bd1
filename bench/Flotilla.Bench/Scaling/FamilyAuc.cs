using System.Globalization;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Evaluation;
using static Flotilla.Bench.BenchContext;

namespace Flotilla.Bench.Scaling;

/// <summary>
/// `scaling --auc`: each family at its defaults, fitted on the train split (0.2, stratified, seed 42) of each table and
/// scored on its test split — the figure that shows what a change to the encoding (such as passing missing values
/// through) does to accuracy. Tables as <see cref="BenchTables"/> names them; by default the shipped datasets, the
/// census-like table (text columns with " ?" for missing), the scaling table (5% missing at random) and the
/// missing:ROWS table (15% missing, the label's numbers missing when high). Uses only the learning core's public
/// surface, so the same file builds against an older commit for a before/after in one run.
/// </summary>
internal static class FamilyAuc
{
    public static Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var tables = (Option(args, "--tables") ?? "breast-cancer,banknote-authentication,census:32561,scaling:20000,missing:20000").Split(',');
        Console.WriteLine($"# test AUC per family at defaults — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, load average {LoadAverage()}");
        Console.WriteLine();
        Console.WriteLine($"| table | {string.Join(" | ", AlgorithmCatalog.Names)} | mean |");
        Console.WriteLine($"|---|{string.Concat(AlgorithmCatalog.Names.Select(_ => "---|"))}---|");
        foreach (var spec in tables)
        {
            var path = Path.Combine(Path.GetTempPath(), $"flotilla-auc-{spec.Replace(':', '-')}-{Environment.ProcessId}.csv");
            try
            {
                var (table, _) = BenchTables.Load(spec, path, ct);
                var (train, test) = table.Split(0.2, stratify: true, seed: 42);
                var aucs = new List<double>();
                foreach (var algorithm in AlgorithmCatalog.All)
                {
                    var model = algorithm.Fit(train, HyperParameters.Empty, 42, ct);
                    aucs.Add(Evaluator.Evaluate(model, test).Auc);
                }

                Console.WriteLine(Invariant($"| {spec} | {string.Join(" | ", aucs.Select(a => a.ToString("F4", CultureInfo.InvariantCulture)))} | {aucs.Average():F4} |"));
            }
            finally
            {
                File.Delete(path);
            }
        }

        return Task.FromResult(0);
    }
}
