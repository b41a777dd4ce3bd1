using System.ComponentModel.DataAnnotations;

namespace Flotilla.Fleet.Monitoring;

/// <summary>
/// How the endpoint watches live traffic (section <c>Flotilla:Endpoint:Monitoring</c>): the sliding window every
/// scored row is counted in, the drift thresholds on the population stability index, and the recent predictions
/// feedback can be joined with. Memory per model is fixed: <see cref="WindowBuckets"/> counter arrays (a few
/// hundred ints each) and <see cref="RecentPredictions"/> plus <see cref="LabelledOutcomes"/> small structs.
/// </summary>
public sealed class MonitoringOptions : IValidatableObject
{
    public const string Section = "Flotilla:Endpoint:Monitoring";

    /// <summary>How far back the live distribution reaches.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time buckets of the window: the oldest is dropped whole as time moves on.</summary>
    [Range(2, 1440)]
    public int WindowBuckets { get; set; } = 12;

    /// <summary>PSI above which a feature (and the group) is in state warn.</summary>
    [Range(0.0, 100.0)]
    public double WarnPsi { get; set; } = 0.1;

    /// <summary>PSI above which a feature (and the group) is in state alert.</summary>
    [Range(0.0, 100.0)]
    public double AlertPsi { get; set; } = 0.25;

    /// <summary>Rows the window must hold before PSI means anything; fewer and the state is <c>collecting</c>.</summary>
    [Range(1, int.MaxValue)]
    public int MinRows { get; set; } = 100;

    /// <summary>How often the drift state of every deployed group is re-computed (and a change announced).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan EvaluateInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Predictions per model (and silo) remembered for feedback; the oldest are overwritten.</summary>
    [Range(16, 10_000_000)]
    public int RecentPredictions { get; set; } = 10_000;

    /// <summary>Labelled predictions per model (and silo) live metrics are computed from; the oldest are overwritten.</summary>
    [Range(16, 1_000_000)]
    public int LabelledOutcomes { get; set; } = 10_000;

    /// <summary>Models per silo whose traffic is watched; calls to further models are scored but not watched.</summary>
    [Range(1, 100_000)]
    public int MaxWatchedModels { get; set; } = 256;

    /// <summary>How far back live accuracy reaches (by the time of the prediction).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan FeedbackWindow { get; set; } = TimeSpan.FromDays(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (WarnPsi >= AlertPsi)
        {
            yield return new ValidationResult(
                $"{Section}:{nameof(WarnPsi)} ({WarnPsi}) must be below {Section}:{nameof(AlertPsi)} ({AlertPsi}).", [nameof(WarnPsi), nameof(AlertPsi)]);
        }
    }
}
