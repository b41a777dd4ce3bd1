namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// A cgroup (v1 cpu controller) holding one server process, so a benchmark or a test can give it a share of a
/// core: <c>cpu.cfs_quota_us</c> of every <c>cpu.cfs_period_us</c>. Unlimited until <see cref="Limit"/> is called.
/// </summary>
internal sealed class CpuQuota : IDisposable
{
    private const string Root = "/sys/fs/cgroup/cpu";

    private readonly int _periodMicroseconds;

    private CpuQuota(string path, int periodMicroseconds) => (Path, _periodMicroseconds) = (path, periodMicroseconds);

    public string Path { get; }

    /// <summary>
    /// A group of its own; <paramref name="periodMicroseconds"/> is how often the quota is given out (the kernel's
    /// default 100 ms lets a half-core group run 50 ms and then stand still for 50 ms).
    /// </summary>
    public static CpuQuota Create(string name, int periodMicroseconds = 100_000)
    {
        if (!File.Exists(System.IO.Path.Combine(Root, "cpu.cfs_quota_us")))
        {
            throw new InvalidOperationException(
                $"The cluster harness holds servers to a CPU share with the cgroup v1 cpu controller and found none at {Root} " +
                "(`mount | grep cgroup` lists what this machine has).");
        }
        var quota = new CpuQuota(Directory.CreateDirectory(System.IO.Path.Combine(Root, name)).FullName, periodMicroseconds);
        // A group left over from a run that died may hold a quota the new period does not allow: lift it first.
        quota.Limit(null);
        File.WriteAllText(System.IO.Path.Combine(quota.Path, "cpu.cfs_period_us"), periodMicroseconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return quota;
    }

    /// <summary>Moves a process, every thread included, into the group.</summary>
    public void Add(int pid) => File.WriteAllText(System.IO.Path.Combine(Path, "cgroup.procs"), pid.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>At most <paramref name="cores"/> cores (0.5: half a core); null lifts the limit.</summary>
    public void Limit(double? cores) => File.WriteAllText(System.IO.Path.Combine(Path, "cpu.cfs_quota_us"),
        cores is { } c ? ((int)(c * _periodMicroseconds)).ToString(System.Globalization.CultureInfo.InvariantCulture) : "-1");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path);
        }
        catch (IOException)
        {
            // A process still in it (a server that would not die) keeps it; the next boot clears /sys.
        }
    }
}
