namespace Flotilla.Learning.Artifacts;

/// <summary>
/// A weighted mean of member predictors' P(positive), every member reading the same encoded row (the members
/// were fitted on one training table, so they share its schema). Weights are positive and sum to 1. A member is
/// any other kind; ensembles do not nest.
/// </summary>
internal sealed class EnsemblePredictor : Predictor
{
    /// <summary>More members than ensemble selection could ever pick from a tuning run's library.</summary>
    public const int MaxMembers = 256;

    private readonly Predictor[] _members;
    private readonly double[] _weights;

    public EnsemblePredictor(IReadOnlyList<Predictor> members, IReadOnlyList<double> weights)
    {
        if (members.Count is < 1 or > MaxMembers || weights.Count != members.Count)
        {
            throw new ArtifactException($"An ensemble holds 1 to {MaxMembers} members with one weight each (got {members.Count} members, {weights.Count} weights).");
        }

        if (members.Any(m => m is EnsemblePredictor))
        {
            throw new ArtifactException("An ensemble's member cannot itself be an ensemble.");
        }

        if (weights.Any(w => !(w > 0) || !double.IsFinite(w)) || Math.Abs(weights.Sum() - 1) > 1e-9)
        {
            throw new ArtifactException("An ensemble's weights are positive and sum to 1.");
        }

        _members = [.. members];
        _weights = [.. weights];
    }

    public override PredictorKind Kind => PredictorKind.Ensemble;

    public int MemberCount => _members.Length;

    public override long ApproximateBytes => 64 + _members.Sum(m => 8 + m.ApproximateBytes);

    public override bool Fits(int width) => _members.All(m => m.Fits(width));

    public override double Probability(ReadOnlySpan<float> encoded)
    {
        var sum = 0.0;
        for (var m = 0; m < _members.Length; m++)
        {
            sum += _weights[m] * _members[m].Probability(encoded);
        }

        return Math.Clamp(sum, 0, 1);
    }

    public override void Probabilities(ReadOnlySpan<float> rows, int width, Span<double> output)
    {
        var member = new double[output.Length];
        output.Clear();
        for (var m = 0; m < _members.Length; m++)
        {
            _members[m].Probabilities(rows, width, member);
            for (var i = 0; i < output.Length; i++)
            {
                output[i] += _weights[m] * member[i];
            }
        }

        for (var i = 0; i < output.Length; i++)
        {
            output[i] = Math.Clamp(output[i], 0, 1);
        }
    }

    protected override void WriteBody(BinaryWriter writer)
    {
        writer.Write(_members.Length);
        for (var m = 0; m < _members.Length; m++)
        {
            writer.Write(_weights[m]);
            _members[m].Write(writer);
        }
    }

    public static EnsemblePredictor ReadBody(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count is < 1 or > MaxMembers)
        {
            throw new ArtifactException($"The artifact is corrupt: an ensemble claims {count} members.");
        }

        var members = new Predictor[count];
        var weights = new double[count];
        for (var m = 0; m < count; m++)
        {
            weights[m] = reader.ReadDouble();
            members[m] = ReadMember(reader);
        }

        return new EnsemblePredictor(members, weights);
    }
}
