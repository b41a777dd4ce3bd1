namespace Flotilla.Tuning;

/// <summary>A complete trial with its out-of-fold P(positive), one per training row in row order.</summary>
public sealed record KeptOutOfFold(TrialRecord Trial, IReadOnlyList<double> Probabilities);

/// <summary>
/// The out-of-fold predictions of the best complete trials, what ensemble selection chooses from. It keeps at most
/// <c>capacity</c> trials and at most <see cref="MaxBytes"/> of probabilities, dropping the worst-scoring trial
/// first (ties: the higher number), so a million-row run holds a few trials' rows, not every trial's.
/// Not thread-safe: the tuner adds to it from its one loop.
/// </summary>
internal sealed class OutOfFoldLibrary(int capacity)
{
    /// <summary>128 MB of doubles: 16 trials of a million rows, 160 of 100,000.</summary>
    public const long MaxBytes = 128L << 20;

    private readonly List<KeptOutOfFold> _kept = [];

    public void Add(TrialRecord trial, IReadOnlyList<double> probabilities)
    {
        var limit = Math.Max(1, (int)Math.Min(capacity, MaxBytes / Math.Max(1L, probabilities.Count * (long)sizeof(double))));
        var index = _kept.FindIndex(k => Better(trial, k.Trial));
        _kept.Insert(index < 0 ? _kept.Count : index, new KeptOutOfFold(trial, probabilities));
        while (_kept.Count > limit)
        {
            _kept.RemoveAt(_kept.Count - 1);
        }
    }

    public IReadOnlyList<double>? Of(int trial) => _kept.Find(k => k.Trial.Number == trial)?.Probabilities;

    /// <summary>Best first.</summary>
    public IReadOnlyList<KeptOutOfFold> Kept => [.. _kept];

    private static bool Better(TrialRecord a, TrialRecord b) => a.Mean > b.Mean || (a.Mean == b.Mean && a.Number < b.Number);
}
