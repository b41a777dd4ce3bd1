using System.Globalization;
using System.Text;

namespace Flotilla.Cli.Demo;

/// <summary>A generated dataset: the training CSV, a few unlabelled rows (header, features only) to invoke the model with, and how to register it.</summary>
internal sealed record ExampleDataset(string Name, string Target, IReadOnlyList<string> Exclude, string Description, string Csv, string SampleCsv);

/// <summary>
/// Two realistic binary-classification tables the demo generates itself (no download, same bytes every run):
/// informative features behind a known logistic model, redundant ones derived from them, pure noise, a
/// categorical column, missing cells, an id column to exclude, and string labels in one of them.
/// </summary>
internal static class ExampleDatasets
{
    public static IReadOnlyList<ExampleDataset> Generate(int seed = 7) => [Churn(seed), Credit(seed + 1)];

    /// <summary>Telecom churn, label "yes"/"no": short tenure, month-to-month contracts and support calls churn.</summary>
    public static ExampleDataset Churn(int seed)
    {
        string[] header = ["customer_id", "tenure_months", "monthly_charges", "total_charges", "support_calls", "contract", "payment_method", "satisfaction", "noise_a", "noise_b", "churned"];
        var (csv, sample) = Build(seed, 900, 6, header, (random, i) =>
        {
            var tenure = random.Next(1, 73);
            var monthly = Math.Round(20 + random.NextDouble() * 100, 2);
            var total = Math.Round(tenure * monthly * (1 + 0.05 * Gaussian(random)), 2);
            var calls = Math.Min(10, (int)Math.Floor(-Math.Log(1 - random.NextDouble()) * 1.6));
            var contract = Pick(random, ["month-to-month", "month-to-month", "one-year", "two-year"]);
            var payment = Pick(random, ["card", "bank-transfer", "electronic-check", "mailed-check"]);
            var satisfaction = random.Next(1, 6);
            var logit = 0.2 - 0.045 * tenure + 0.025 * (monthly - 70) + 0.45 * calls - 0.55 * (satisfaction - 3)
                + contract switch { "month-to-month" => 1.1, "one-year" => -0.2, _ => -1.4 };
            var churned = random.NextDouble() < Sigmoid(logit) ? "yes" : "no";
            return [
                $"C{100000 + i}", Num(tenure), Num(monthly), Missing(random, 0.02) ? "" : Num(total), Num(calls), contract, payment,
                Missing(random, 0.06) ? "" : Num(satisfaction), Num(Gaussian(random)), Num(random.NextDouble() * 10), churned,
            ];
        });
        return new ExampleDataset("churn", "churned", ["customer_id"],
            "Telecom customers: will they leave? String labels yes/no, a categorical contract type, missing satisfaction scores.", csv, sample);
    }

    /// <summary>Loan defaults, label 0/1: debt, utilisation and late payments drive default; region is noise.</summary>
    public static ExampleDataset Credit(int seed)
    {
        string[] header = ["applicant_id", "income", "debt_ratio", "credit_score", "utilization", "late_payments", "home_ownership", "region", "years_employed", "noise_1", "noise_2", "noise_3", "defaulted"];
        var (csv, sample) = Build(seed, 800, 6, header, (random, i) =>
        {
            var income = Math.Round(Math.Exp(10.8 + 0.45 * Gaussian(random)), 0);
            var debtRatio = Math.Clamp(0.35 + 0.15 * Gaussian(random), 0.01, 0.99);
            var score = Math.Clamp(Math.Round(690 - 180 * (debtRatio - 0.35) + 55 * Gaussian(random)), 300, 850);
            var utilization = Math.Clamp(0.8 * debtRatio + 0.1 * Gaussian(random) + 0.1, 0, 1);
            var late = Math.Min(8, (int)Math.Floor(-Math.Log(1 - random.NextDouble()) * 0.9));
            var home = Pick(random, ["rent", "own", "mortgage"]);
            var region = Pick(random, ["north", "south", "east", "west"]);
            var years = random.Next(0, 31);
            var logit = -1.2 + 5.5 * (debtRatio - 0.35) - 0.012 * (score - 690) + 0.6 * late - 0.35 * (Math.Log(income) - 10.8)
                - 0.03 * years + home switch { "rent" => 0.4, "own" => -0.4, _ => 0.0 };
            var defaulted = random.NextDouble() < Sigmoid(logit) ? "1" : "0";
            return [
                $"A{200000 + i}", Missing(random, 0.04) ? "" : Num(income), Num(Math.Round(debtRatio, 3)), Num(score), Num(Math.Round(utilization, 3)),
                Num(late), Missing(random, 0.03) ? "" : home, region, Num(years), Num(Gaussian(random)), Num(random.NextDouble()), Num(Gaussian(random) * 3), defaulted,
            ];
        });
        return new ExampleDataset("credit", "defaulted", ["applicant_id"],
            "Loan applicants: will they default? Numeric 0/1 labels, a redundant utilisation column, missing incomes.", csv, sample);
    }

    /// <summary>The training CSV and, from further rows of the same generator, a sample without the label column.</summary>
    private static (string Csv, string Sample) Build(int seed, int rows, int sampleRows, string[] header, Func<Random, int, string[]> row)
    {
        var random = new Random(seed);
        var csv = new StringBuilder().AppendLine(string.Join(',', header));
        for (var i = 0; i < rows; i++)
        {
            csv.AppendLine(string.Join(',', row(random, i)));
        }
        // The sample is what a caller scores: no id column (the first, excluded from training), no label (the last).
        var sample = new StringBuilder().AppendLine(string.Join(',', header[1..^1]));
        for (var i = 0; i < sampleRows; i++)
        {
            var values = row(random, rows + i);
            sample.AppendLine(string.Join(',', values[1..^1]));
        }
        return (csv.ToString(), sample.ToString());
    }

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static bool Missing(Random random, double share) => random.NextDouble() < share;

    private static string Pick(Random random, string[] choices) => choices[random.Next(choices.Length)];

    private static string Num(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
