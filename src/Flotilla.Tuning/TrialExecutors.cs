using Flotilla.Learning.Data;

namespace Flotilla.Tuning;

/// <summary>
/// The training data of one tuning run, as a worker elsewhere can get it too: the table read in this process, the
/// CSV file it was read from and the options that read it (the same bytes read with the same options give the
/// same table, so the same folds and the same scores on every worker).
/// </summary>
public sealed record TrialData(Table Train, string CsvPath, CsvOptions Csv);

/// <summary>
/// Where a tuning run's trials run, chosen once per run: in this process (<see cref="InProcessTrialExecutors"/>), or
/// on every silo of the fleet in a server (the fleet's cluster executor).
/// </summary>
public interface ITrialExecutorFactory
{
    Task<ITrialExecutor> CreateAsync(TrialData data, CancellationToken cancellationToken);
}

/// <summary>Every trial on this machine's cores.</summary>
public sealed class InProcessTrialExecutors : ITrialExecutorFactory
{
    public Task<ITrialExecutor> CreateAsync(TrialData data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Task.FromResult<ITrialExecutor>(new InProcessTrialExecutor(data.Train));
    }
}
