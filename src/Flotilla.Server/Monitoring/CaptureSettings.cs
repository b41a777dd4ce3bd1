using System.Collections.Frozen;
using Dapper;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.Options;

namespace Flotilla.Server.Monitoring;

/// <summary>
/// The capture share of each group: its own setting (stored, so every server of a cluster follows it) or the
/// configured default. Held in memory and re-read every <see cref="CaptureOptions.SettingsRefreshInterval"/>, so
/// deciding whether to capture a call costs one look-up — nothing at all while no group captures.
/// </summary>
public sealed partial class CaptureSettings(MetadataStore store, IOptions<CaptureOptions> options, TimeProvider time, ILogger<CaptureSettings> logger)
    : BackgroundService
{
    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(DriftEvents.Component, 2, """
            CREATE TABLE IF NOT EXISTS monitoring_capture_settings (
                group_name TEXT PRIMARY KEY,
                percent DOUBLE PRECISION NOT NULL,
                changed_by TEXT NOT NULL,
                changed_ms BIGINT NOT NULL);
            """),
    ];

    private FrozenDictionary<string, double> _groups = FrozenDictionary<string, double>.Empty;
    private readonly double _default = options.Value.Percent;

    /// <summary>True when some group (or the default) captures: the front door skips everything else otherwise.</summary>
    public bool Any { get; private set; } = options.Value.Percent > 0;

    public double PercentOf(string group) => _groups.TryGetValue(group, out var percent) ? percent : _default;

    public bool HasOwnSetting(string group) => _groups.ContainsKey(group);

    public async Task SetAsync(string group, double? percent, string changedBy, CancellationToken cancellationToken)
    {
        await store.InTransactionAsync(async (connection, transaction, ct) =>
        {
            await connection.ExecuteAsync(new CommandDefinition("DELETE FROM monitoring_capture_settings WHERE group_name = @Group", new { Group = group }, transaction, cancellationToken: ct));
            if (percent is { } p)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    "INSERT INTO monitoring_capture_settings (group_name, percent, changed_by, changed_ms) VALUES (@Group, @Percent, @By, @Now)",
                    new { Group = group, Percent = p, By = changedBy, Now = time.GetUtcNow().ToUnixTimeMilliseconds() }, transaction, cancellationToken: ct));
            }
        }, cancellationToken);
        await ReloadAsync(cancellationToken);
    }

    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await store.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<(string GroupName, double Percent)>(new CommandDefinition(
            "SELECT group_name, percent FROM monitoring_capture_settings", cancellationToken: cancellationToken));
        var groups = rows.ToFrozenDictionary(r => r.GroupName, r => r.Percent, StringComparer.Ordinal);
        _groups = groups;
        Any = _default > 0 || groups.Values.Any(p => p > 0);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ReloadAsync(stoppingToken);
                await Task.Delay(options.Value.SettingsRefreshInterval, time, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogReloadFailed(logger, e);
                await Task.Delay(options.Value.SettingsRefreshInterval, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the capture settings failed; the last ones read stay in force")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception);
}
