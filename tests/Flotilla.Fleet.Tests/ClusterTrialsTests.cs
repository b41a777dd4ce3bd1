using Flotilla.Fleet.Trials;
using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Data;
using Flotilla.Tuning;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Fleet.Tests;

public sealed class ClusterTrialsTests
{
    private static readonly string BreastCancer = SharedDatasets.Path("breast-cancer.csv");

    // Cheap families, enough trials that both silos get some, a parallelism both silos' cores cover.
    private static readonly TuningOptions Options = new()
    {
        MaxTrials = 16,
        MaxParallelTrials = 4,
        Folds = 3,
        Seed = 7,
        Algorithms = ["LogisticRegression", "NaiveBayes", "LightGBM"],
    };

    private static TrialData Data() => new(TableReader.Read(BreastCancer, new CsvOptions("CLASS"), CancellationToken.None), BreastCancer, new CsvOptions("CLASS"));

    private static async Task<TuningResult> InOneProcessAsync(TrialData data) =>
        await new Tuner().RunAsync(new InProcessTrialExecutor(data.Train), Options);

    [Fact]
    public async Task A_tuning_runs_trials_on_both_silos_each_named_and_finds_what_one_process_finds()
    {
        await using var cluster = await FleetCluster.StartAsync(silos: 2);
        var data = Data();
        var executor = await cluster.Silo(0).GetRequiredService<ITrialExecutorFactory>().CreateAsync(data, CancellationToken.None);

        var spread = await new Tuner().RunAsync(executor, Options);
        var alone = await InOneProcessAsync(data);

        Assert.Equal(2 * Environment.ProcessorCount, executor.Capacity);
        var silos = cluster.Cluster.Silos.Select(s => s.SiloAddress.ToString()).ToHashSet();
        Assert.Equal(silos, executor.Workers.Select(w => w.Name).ToHashSet());
        Assert.All(executor.Workers, w => Assert.Equal(new TrialWorker(w.Name, Environment.ProcessorCount), w));
        Assert.All(spread.Trials, t => Assert.Contains(t.Worker!, silos));
        Assert.Equal(silos, spread.Trials.Select(t => t.Worker!).ToHashSet());
        AssertSameTrials(alone, spread);
        // The worker silo fetched the training data by hash from the store the silos share.
        Assert.True(await cluster.Artifacts.ExistsAsync(data.Train.Sha256, CancellationToken.None));
    }

    [Fact]
    public async Task A_silo_stopped_while_it_runs_trials_loses_none_and_the_result_is_the_same()
    {
        await using var cluster = await FleetCluster.StartAsync(silos: 2);
        var data = Data();
        var executor = await cluster.Silo(0).GetRequiredService<ITrialExecutorFactory>().CreateAsync(data, CancellationToken.None);
        var worker = cluster.Cluster.Silos[1];
        Task? stopping = null;

        var spread = await new Tuner().RunAsync(executor, Options, (e, _) =>
        {
            // Stop the worker silo as soon as it started a trial: that trial (and any other it holds) is cut short.
            if (e is TrialFinished { Trial.Worker: { } ran } && ran == worker.SiloAddress.ToString() && stopping is null)
            {
                stopping = Task.Run(() => cluster.Cluster.StopSiloAsync(worker));
            }
            return ValueTask.CompletedTask;
        });
        await stopping!;
        var alone = await InOneProcessAsync(data);

        Assert.Equal(Options.MaxTrials, spread.Trials.Count);
        Assert.DoesNotContain(spread.Trials, t => t.Status == TrialStatus.Failed);
        AssertSameTrials(alone, spread);
        Assert.Contains(spread.Trials, t => t.Worker == worker.SiloAddress.ToString());
        Assert.Equal(cluster.Cluster.Silos[0].SiloAddress.ToString(), spread.Trials[^1].Worker);
        // Only the stopped silo can be named lost (it is when a trial was running there as it stopped).
        Assert.Null(executor.Workers.Single(w => w.Name == cluster.Cluster.Silos[0].SiloAddress.ToString()).Lost);
    }

    [Fact]
    public async Task With_one_silo_trials_run_in_process_and_store_nothing()
    {
        await using var cluster = await FleetCluster.StartAsync(silos: 1);
        var data = Data();
        var executor = await cluster.Silo(0).GetRequiredService<ITrialExecutorFactory>().CreateAsync(data, CancellationToken.None);

        var result = await new Tuner().RunAsync(executor, Options with { MaxTrials = 4 });

        Assert.Equal(Environment.ProcessorCount, executor.Capacity);
        Assert.All(result.Trials, t => Assert.Equal(cluster.Cluster.Silos[0].SiloAddress.ToString(), t.Worker));
        Assert.False(await cluster.Artifacts.ExistsAsync(data.Train.Sha256, CancellationToken.None));
    }

    [Fact]
    public async Task A_remote_trial_reports_no_fold_beyond_a_stop_and_sends_its_last_fold_with_the_outcome()
    {
        await using var cluster = await FleetCluster.StartAsync(silos: 2);
        var data = Data();
        // Creating the executor puts the training data in the store, where the worker fetches it by hash.
        await cluster.Silo(0).GetRequiredService<ITrialExecutorFactory>().CreateAsync(data, CancellationToken.None);
        var trial = new TrialRequest(0, "LogisticRegression", HyperParameters.Empty, 5, "roc_auc", 7);
        var observer = new StopAfter(1);
        var reference = cluster.Grains.CreateObjectReference<IFoldObserver>(observer);

        var outcome = await cluster.Grains.GetGrain<ITrialWorkerGrain>(cluster.Cluster.Silos[1].SiloAddress.ToParsableString())
            .RunAsync(TrialDataRef.From(data.Train.Sha256, data.Csv), RemoteTrial.From(trial), reference, CancellationToken.None);

        // Fold 2 may have been computed while the answer to fold 1 was on its way, but it was never reported.
        Assert.Equal([0, 1], observer.Reported.Select(r => r.Fold));
        Assert.True(outcome.Stopped);
        Assert.Null(outcome.OutOfFold);
        var alone = Learning.Evaluation.CrossValidation.Run(AlgorithmCatalog.Get(trial.Algorithm), trial.Parameters, data.Train, 5,
            Learning.Evaluation.Scorer.Parse(trial.Scorer), trial.Seed, (fold, _) => fold < 1, CancellationToken.None);
        Assert.Equal(alone.FoldScores, outcome.FoldScores);
        Assert.Equal(observer.Reported.Select(r => r.Score), outcome.FoldScores);

        // A trial that runs to its end sends every fold but the last, which comes with the outcome.
        var whole = new StopAfter(5);
        var wholeReference = cluster.Grains.CreateObjectReference<IFoldObserver>(whole);
        var complete = await cluster.Grains.GetGrain<ITrialWorkerGrain>(cluster.Cluster.Silos[1].SiloAddress.ToParsableString())
            .RunAsync(TrialDataRef.From(data.Train.Sha256, data.Csv), RemoteTrial.From(trial), wholeReference, CancellationToken.None);
        Assert.False(complete.Stopped);
        Assert.Equal([0, 1, 2, 3], whole.Reported.Select(r => r.Fold));
        Assert.Equal(whole.Reported.Select(r => r.Score), complete.FoldScores.Take(4));
        Assert.Equal(5, complete.FoldScores.Count);
        GC.KeepAlive(observer);
        GC.KeepAlive(whole);
    }

    private sealed class StopAfter(int fold) : IFoldObserver
    {
        public List<(int Fold, double Score)> Reported { get; } = [];

        public Task<bool> OnFoldAsync(int reported, double score)
        {
            lock (Reported)
            {
                Reported.Add((reported, score));
            }
            return Task.FromResult(reported < fold);
        }
    }

    private static void AssertSameTrials(TuningResult expected, TuningResult actual)
    {
        Assert.Equal(expected.Trials.Count, actual.Trials.Count);
        foreach (var (e, a) in expected.Trials.Zip(actual.Trials))
        {
            Assert.Equal((e.Number, e.Algorithm, e.Parameters, e.Status), (a.Number, a.Algorithm, a.Parameters, a.Status));
            Assert.Equal(e.FoldScores, a.FoldScores);
        }
        Assert.Equal((expected.Best.Number, expected.Best.Mean), (actual.Best.Number, actual.Best.Mean));
    }
}

/// <summary>The shared example datasets beside the repository (read, never copied).</summary>
internal static class SharedDatasets
{
    private static readonly string Folder = FindFolder();

    public static string Path(string file) => System.IO.Path.Combine(Folder, file);

    private static string FindFolder()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(directory.FullName, "..", "shared", "datasets"));
            }
        }
        throw new DirectoryNotFoundException($"No Flotilla.slnx above {AppContext.BaseDirectory}.");
    }
}
