using Flotilla.Fleet.Trials;

namespace Flotilla.Fleet.Tests;

public sealed class FoldReplayTests
{
    [Fact]
    public void A_rerun_after_a_lost_silo_stops_where_the_pruner_stopped_the_lost_attempt_without_asking_it_again()
    {
        var asked = new List<(int Fold, double Score)>();
        // The pruner lets fold 0 go on and stops the trial after fold 1.
        var replay = new FoldReplay((fold, score) =>
        {
            asked.Add((fold, score));
            return fold < 1;
        });

        // The lost attempt: its silo died right after the pruner's answer to fold 1.
        Assert.True(replay.Report(0, 0.91));
        Assert.False(replay.Report(1, 0.52));

        // The rerun elsewhere reaches the same folds again.
        Assert.True(replay.Report(0, 0.91));
        Assert.False(replay.Report(1, 0.52));

        Assert.Equal([(0, 0.91), (1, 0.52)], asked);
    }

    [Fact]
    public void A_rerun_asks_the_tuner_about_the_folds_the_lost_attempt_never_reached()
    {
        var asked = new List<int>();
        var replay = new FoldReplay((fold, _) =>
        {
            asked.Add(fold);
            return true;
        });

        Assert.True(replay.Report(0, 0.9));
        Assert.True(replay.Report(0, 0.9));
        Assert.True(replay.Report(1, 0.8));
        Assert.True(replay.Report(2, 0.85));

        Assert.Equal([0, 1, 2], asked);
    }
}
