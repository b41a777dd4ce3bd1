using System.Globalization;
using System.Text;

namespace Flotilla.Bench.Forest;

/// <summary>
/// A seeded census-like table, shaped like the UCI adult data the issue was measured on: 6 numeric and 8 text
/// columns, text values with a leading space and " ?" for a missing cell, the label " &lt;=50K" / " &gt;50K"
/// (about a quarter positive) drawn from a logistic score over most columns, so a forest has something to find.
/// Nothing is committed: the suite writes it to a temporary folder on each run.
/// </summary>
internal static class CensusTable
{
    public const string Label = "income";

    private static readonly string[] Workclass = ["Private", "Self-emp-not-inc", "Self-emp-inc", "Federal-gov", "Local-gov", "State-gov", "Without-pay", "Never-worked"];
    private static readonly string[] Education = ["Preschool", "1st-4th", "5th-6th", "7th-8th", "9th", "10th", "11th", "12th", "HS-grad", "Some-college", "Assoc-voc", "Assoc-acdm", "Bachelors", "Masters", "Prof-school", "Doctorate"];
    private static readonly string[] Marital = ["Married-civ-spouse", "Never-married", "Divorced", "Separated", "Widowed", "Married-spouse-absent", "Married-AF-spouse"];
    private static readonly string[] Occupation = ["Tech-support", "Craft-repair", "Other-service", "Sales", "Exec-managerial", "Prof-specialty", "Handlers-cleaners", "Machine-op-inspct", "Adm-clerical", "Farming-fishing", "Transport-moving", "Priv-house-serv", "Protective-serv", "Armed-Forces"];
    private static readonly string[] Relationship = ["Husband", "Not-in-family", "Own-child", "Unmarried", "Wife", "Other-relative"];
    private static readonly string[] Race = ["White", "Black", "Asian-Pac-Islander", "Amer-Indian-Eskimo", "Other"];
    private static readonly string[] Sex = ["Male", "Female"];

    public static void Write(string path, int rows, int seed)
    {
        var random = new Random(seed);
        var countries = new[] { "United-States", "Mexico", "Philippines", "Germany", "Canada", "Puerto-Rico", "India", "El-Salvador", "Cuba", "England", "China", "Jamaica", "South", "Italy", "Dominican-Republic", "Vietnam", "Guatemala", "Japan", "Poland", "Columbia", "Taiwan", "Haiti", "Iran", "Portugal", "Nicaragua", "Peru", "Greece", "France", "Ecuador", "Ireland", "Hong", "Trinadad&Tobago", "Cambodia", "Thailand", "Laos", "Yugoslavia", "Outlying-US", "Hungary", "Honduras", "Scotland", "Holand-Netherlands" };
        var occupationEffect = Occupation.Select((_, i) => (i * 37 % 11 - 5) / 5.0).ToArray();
        var countryEffect = countries.Select((_, i) => (i * 13 % 7 - 3) / 6.0).ToArray();
        var builder = new StringBuilder(rows * 160);
        builder.Append("age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country,income\n");
        for (var r = 0; r < rows; r++)
        {
            var age = Math.Clamp((int)(17 + Math.Abs(Normal(random)) * 18 + random.Next(8)), 17, 90);
            var education = Math.Clamp((int)Math.Round(9 + Normal(random) * 2.6), 0, 15);
            var workclass = Skewed(random, Workclass.Length, 0.7);
            var marital = age < 25 ? Skewed(random, Marital.Length, 0.2) + (random.NextDouble() < 0.7 ? 1 : 0) : Skewed(random, Marital.Length, 0.5);
            marital = Math.Min(marital, Marital.Length - 1);
            var occupation = (int)Math.Clamp(education * 0.6 + random.Next(-4, 6), 0, Occupation.Length - 1);
            var sex = random.NextDouble() < 0.67 ? 0 : 1;
            var relationship = marital == 0 ? (sex == 0 ? 0 : 4) : 1 + Skewed(random, Relationship.Length - 1, 0.4);
            relationship = relationship == 4 && sex == 0 ? 1 : relationship;
            var race = Skewed(random, Race.Length, 0.85);
            var country = random.NextDouble() < 0.9 ? 0 : 1 + random.Next(countries.Length - 1);
            var fnlwgt = (int)Math.Exp(12 + Normal(random) * 0.55);
            var gain = random.NextDouble() < 0.08 ? (int)Math.Exp(7 + random.NextDouble() * 4.5) : 0;
            var loss = gain == 0 && random.NextDouble() < 0.05 ? 1000 + random.Next(3000) : 0;
            var hours = Math.Clamp((int)Math.Round(40 + Normal(random) * 12), 1, 99);

            var score = -4.2 + 0.045 * Math.Min(age, 60) + 0.32 * (education - 8) + (marital == 0 ? 1.8 : 0) + (sex == 0 ? 0.3 : 0)
                + 0.025 * (hours - 40) + (gain > 5000 ? 2.5 : 0) + (loss > 1800 ? 1.0 : 0) + occupationEffect[occupation]
                + countryEffect[country] + (workclass == 2 ? 0.6 : 0) + Normal(random) * 0.8;
            var positive = random.NextDouble() < 1 / (1 + Math.Exp(-score));

            builder.Append(CultureInfo.InvariantCulture, $"{age},{Text(random, Workclass[workclass], 0.056)},{fnlwgt},");
            builder.Append(CultureInfo.InvariantCulture, $" {Education[education]},{education + 1}, {Marital[marital]},");
            builder.Append(CultureInfo.InvariantCulture, $"{Text(random, Occupation[occupation], 0.057)}, {Relationship[relationship]}, {Race[race]}, {Sex[sex]},");
            builder.Append(CultureInfo.InvariantCulture, $"{gain},{loss},{hours},{Text(random, countries[country], 0.018)},{(positive ? " >50K" : " <=50K")}\n");
        }

        File.WriteAllText(path, builder.ToString());
    }

    private static string Text(Random random, string value, double missing) => random.NextDouble() < missing ? " ?" : " " + value;

    // Index 0 with probability p, else geometrically falling over the rest: the long tail of real categories.
    private static int Skewed(Random random, int count, double p)
    {
        var index = 0;
        while (index < count - 1 && random.NextDouble() >= p)
        {
            index++;
        }

        return index;
    }

    private static double Normal(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
