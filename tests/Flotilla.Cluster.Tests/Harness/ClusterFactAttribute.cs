namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// A test over the multi-machine harness. Network namespaces, private mounts and cgroups need root; anywhere
/// else the test is skipped with that reason (`.ci/run` runs as root, so CI always runs it). Everything else it
/// needs missing (ip, unshare, PostgreSQL, node) is a failure naming the tool, not a skip.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ClusterFactAttribute : FactAttribute
{
    public ClusterFactAttribute()
    {
        if (!OperatingSystem.IsLinux() || !Environment.IsPrivilegedProcess)
        {
            Skip = "The cluster harness needs root on Linux (network namespaces, private tmpfs mounts, cgroup CPU quotas); run it as root, as .ci/run does.";
        }
    }
}
