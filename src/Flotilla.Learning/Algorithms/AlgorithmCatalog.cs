namespace Flotilla.Learning.Algorithms;

/// <summary>The six algorithm families by name.</summary>
public static class AlgorithmCatalog
{
    public static IReadOnlyList<IAlgorithm> All { get; } =
    [
        new RandomForest(),
        new XGBoost(),
        new LightGbm(),
        new LogisticRegression(),
        new NaiveBayes(),
        new NeuralNet(),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(a => a.Name).ToArray();

    /// <summary>The family named <paramref name="name"/> (case-insensitive); an unknown name lists the known ones.</summary>
    public static IAlgorithm Get(string name) =>
        All.FirstOrDefault(a => string.Equals(a.Name, name?.Trim(), StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException(
            $"Unknown algorithm '{name}'. Known algorithms: {string.Join(", ", Names)}.", nameof(name));
}
