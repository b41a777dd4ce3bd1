using Flotilla.Tuning;

namespace Flotilla.Fleet.Trials;

/// <summary>
/// The tuner's fold callback for one trial across its attempts. A trial that runs again after its silo was lost
/// reaches again the folds the lost attempt had reported: those are answered as they were the first time, without
/// asking the tuner twice. The answer matters, not only the silence: had the pruner stopped the trial after fold k
/// just before the silo died, the rerun must stop there too, or the trial ends Complete where an uninterrupted run
/// pruned it, and every later proposal that sees it differs.
/// </summary>
internal sealed class FoldReplay(FoldCallback tuner)
{
    private readonly List<bool> _answers = [];
    private readonly Lock _lock = new();

    public bool Report(int fold, double score)
    {
        lock (_lock)
        {
            if (fold < _answers.Count)
            {
                return _answers[fold];
            }

            var answer = tuner(fold, score);
            _answers.Add(answer);
            return answer;
        }
    }
}
