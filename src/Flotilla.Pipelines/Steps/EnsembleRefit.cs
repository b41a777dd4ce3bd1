using Flotilla.Learning.Algorithms;
using Flotilla.Learning.Artifacts;
using Flotilla.Learning.Data;
using Flotilla.Learning.Evaluation;

namespace Flotilla.Pipelines.Steps;

/// <summary>The refit of an ensemble's members on the whole train split, and their blended out-of-fold predictions when the tuner's were lost.</summary>
internal static class EnsembleRefit
{
    /// <summary>Fits every member (as many at once as there are cores: each fit is single-threaded) and combines them.</summary>
    public static TrainedModel Fit(Table train, IReadOnlyList<EnsembleChoiceMember> members, int seed, CancellationToken cancellationToken)
    {
        var fitted = new TrainedModel[members.Count];
        Parallel.For(0, members.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, m =>
            fitted[m] = AlgorithmCatalog.Get(members[m].Algorithm).Fit(train, members[m].Parameters, seed, cancellationToken));
        return TrainedModel.Combine([.. members.Select((m, i) => (fitted[i], m.Weight, (int?)m.Trial, m.Score))]);
    }

    /// <summary>The members' out-of-fold P(positive) on the same seeded folds the tuner used, blended with their weights.</summary>
    public static double[] OutOfFold(Table train, IReadOnlyList<EnsembleChoiceMember> members, int folds, int seed, CancellationToken cancellationToken)
    {
        var prepared = CrossValidation.Prepare(train, folds, seed);
        var blend = new double[train.RowCount];
        var total = members.Sum(m => m.Weight);
        foreach (var member in members)
        {
            var result = CrossValidation.Run(AlgorithmCatalog.Get(member.Algorithm), member.Parameters, prepared, Scorer.RocAuc, null, cancellationToken);
            var outOfFold = result.OutOfFold!;
            for (var r = 0; r < blend.Length; r++)
            {
                blend[r] += member.Weight / total * outOfFold[r];
            }
        }

        return blend;
    }
}
