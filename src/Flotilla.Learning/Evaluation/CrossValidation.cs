using System.Runtime.CompilerServices;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;

namespace Flotilla.Learning.Evaluation;

/// <summary>
/// Per-fold objective scores (higher is better, see <see cref="Scorer.Objective"/>), their mean, whether the
/// callback stopped the run early, and the out-of-fold P(positive) of every training row (index = row of
/// <see cref="PreparedFolds.Train"/>; NaN for rows of folds not run), from which a decision threshold is chosen.
/// </summary>
public sealed record CrossValidationResult(IReadOnlyList<double> FoldScores, double Mean, bool Stopped, IReadOnlyList<double>? OutOfFold = null);

/// <summary>
/// A stratified k-fold partition of one training table with what each fold's learners share built once: the
/// schema learned on the fold's training part only, the rows of both parts as index views of the table (never
/// copies), each slot's statistics and the forest's bins on first use. Create it once per (table, folds, seed) and
/// reuse it for every trial: it is thread-safe, so parallel trials share it.
/// </summary>
public sealed class PreparedFolds
{
    private readonly int[] _foldOf;
    private readonly Lazy<Fold>[] _folds;

    internal PreparedFolds(Table train, int folds, int seed)
    {
        Train = train;
        Folds = folds;
        Seed = seed;
        _foldOf = Assign(train, folds, seed);
        _folds = Enumerable.Range(0, folds).Select(f => new Lazy<Fold>(() => Build(f))).ToArray();
    }

    public Table Train { get; }

    public int Folds { get; }

    public int Seed { get; }

    /// <summary>Which fold each row of <see cref="Train"/> is validated in.</summary>
    public int FoldOf(int row) => _foldOf[row];

    internal Fold this[int fold] => _folds[fold].Value;

    private static int[] Assign(Table train, int folds, int seed)
    {
        if (folds < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(folds), folds, "Cross-validation needs at least 2 folds.");
        }

        var smaller = Math.Min(train.PositiveCount, train.NegativeCount);
        if (smaller < folds)
        {
            throw new ArgumentException(
                $"{train.Source}: {folds}-fold stratified cross-validation needs at least {folds} rows of each class; " +
                $"the training data has {smaller} of the rarer class. Use fewer folds or more data.", nameof(folds));
        }

        // Each class shuffled with the seed and dealt round-robin: every fold gets its share of both classes.
        var random = new Random(seed);
        var foldOf = new int[train.RowCount];
        foreach (var positive in new[] { true, false })
        {
            var rows = Enumerable.Range(0, train.RowCount).Where(r => train.Label(r) == positive).ToArray();
            random.Shuffle(rows);
            for (var i = 0; i < rows.Length; i++)
            {
                foldOf[rows[i]] = i % folds;
            }
        }

        return foldOf;
    }

    // A fold is two index views of the one training table: no rows are copied, and no fold holds its rows encoded.
    private Fold Build(int fold)
    {
        var validationCount = 0;
        foreach (var f in _foldOf)
        {
            validationCount += f == fold ? 1 : 0;
        }

        var trainRows = new int[_foldOf.Length - validationCount];
        var validationRows = new int[validationCount];
        for (int r = 0, t = 0, v = 0; r < _foldOf.Length; r++)
        {
            if (_foldOf[r] == fold)
            {
                validationRows[v++] = r;
            }
            else
            {
                trainRows[t++] = r;
            }
        }

        var train = EncodedData.From(Train, trainRows);
        return new Fold(train, new FeatureRows(train.Schema, Train, validationRows), trainRows, validationRows);
    }

    internal sealed record Fold(EncodedData Train, FeatureRows Validation, int[] TrainRows, int[] ValidationRows)
    {
        public bool[] ValidationY { get; } = [.. ValidationRows.Select(Validation.Table.Label)];
    }
}

/// <summary>Stratified k-fold cross-validation, fold by fold so a tuner can stop (prune) a trial early.</summary>
public static class CrossValidation
{
    private static readonly ConditionalWeakTable<Table, Dictionary<(int Folds, int Seed), PreparedFolds>> Cache = [];

    /// <summary>
    /// Partitions and encodes <paramref name="train"/> once. The tuner calls this once per execution and then
    /// <see cref="Run(IAlgorithm, HyperParameters, PreparedFolds, Scorer, Func{int, double, bool}?, CancellationToken)"/> per trial.
    /// </summary>
    public static PreparedFolds Prepare(Table train, int folds, int seed)
    {
        ArgumentNullException.ThrowIfNull(train);
        var byKey = Cache.GetOrCreateValue(train);
        lock (byKey)
        {
            if (!byKey.TryGetValue((folds, seed), out var prepared))
            {
                prepared = new PreparedFolds(train, folds, seed);
                byKey[(folds, seed)] = prepared;
            }

            return prepared;
        }
    }

    /// <summary>
    /// Same as the <see cref="PreparedFolds"/> overload; the folds are prepared on the first call for this table,
    /// folds and seed and reused afterwards (cached while the table lives).
    /// </summary>
    public static CrossValidationResult Run(
        IAlgorithm algorithm, HyperParameters hp, Table train, int folds, Scorer scorer, int seed,
        Func<int, double, bool>? onFold, CancellationToken ct) =>
        Run(algorithm, hp, Prepare(train, folds, seed), scorer, onFold, ct);

    /// <summary>
    /// Fits on each fold's training part and scores its validation part, in fold order. After each fold
    /// <paramref name="onFold"/>(foldIndex, foldScore) may return false to stop: the result then holds the
    /// folds done so far and <c>Stopped = true</c>. The learners' seed is <see cref="PreparedFolds.Seed"/>.
    /// </summary>
    public static CrossValidationResult Run(
        IAlgorithm algorithm, HyperParameters hp, PreparedFolds folds, Scorer scorer,
        Func<int, double, bool>? onFold, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(folds);
        ArgumentNullException.ThrowIfNull(scorer);
        var complete = algorithm is Algorithm known ? known.Complete(hp) : hp;
        var scores = new List<double>(folds.Folds);
        var outOfFold = new double[folds.Train.RowCount];
        Array.Fill(outOfFold, double.NaN);
        for (var f = 0; f < folds.Folds; f++)
        {
            ct.ThrowIfCancellationRequested();
            var fold = folds[f];
            double[] probabilities;
            if (algorithm is Algorithm own)
            {
                var predictor = own.FitEncoded(fold.Train, complete, folds.Seed, ct);
                probabilities = fold.Validation.Probabilities(predictor);
            }
            else
            {
                // Any other IAlgorithm goes through its public Fit on copies of the fold's rows.
                var model = algorithm.Fit(folds.Train.Subset(fold.TrainRows), hp, folds.Seed, ct);
                probabilities = model.PredictProbabilities(folds.Train.Subset(fold.ValidationRows));
            }

            // A fold's validation rows are the rows assigned to it, in row order (see PreparedFolds.Build).
            for (int r = 0, i = 0; r < outOfFold.Length; r++)
            {
                if (folds.FoldOf(r) == f)
                {
                    outOfFold[r] = probabilities[i++];
                }
            }

            var score = scorer.Objective(fold.ValidationY, probabilities);
            scores.Add(score);
            if (onFold is not null && !onFold(f, score) && f < folds.Folds - 1)
            {
                return new CrossValidationResult(scores, scores.Average(), true, outOfFold);
            }
        }

        return new CrossValidationResult(scores, scores.Average(), false, outOfFold);
    }
}
