namespace Flotilla.Cluster.Tests.Harness;

/// <summary>
/// The harness's network: one Linux bridge with an address of its own (where PostgreSQL and s3rver listen) and
/// one network namespace per machine, joined to the bridge by a veth pair. Names carry a random id so harnesses
/// of parallel runs never meet; everything is deleted on dispose.
/// </summary>
internal sealed class Network : IAsyncDisposable
{
    private readonly List<Machine> _machines = [];
    private readonly string _id;
    private readonly string _prefix;

    private Network(string id, string prefix)
    {
        _id = id;
        _prefix = prefix;
    }

    /// <summary>The host's address on the bridge, reachable from every machine.</summary>
    public string HostAddress => $"{_prefix}.1";

    private string Bridge => $"flb{_id}";

    public static async Task<Network> CreateAsync()
    {
        var id = Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.Next()))[..6];
        // A /24 in 10.128.0.0/9 chosen at random: two harnesses (or two engineers' experiments) do not share one.
        var network = new Network(id, $"10.{128 + Random.Shared.Next(120)}.{Random.Shared.Next(256)}");
        await Shell.RunAsync("ip", "link", "add", network.Bridge, "type", "bridge");
        await Shell.RunAsync("ip", "addr", "add", $"{network.HostAddress}/24", "dev", network.Bridge);
        await Shell.RunAsync("ip", "link", "set", network.Bridge, "up");
        return network;
    }

    /// <summary>A new machine: its own namespace, loopback up, address <c>.(n+2)</c> on the bridge.</summary>
    public async Task<Machine> AddMachineAsync(string name)
    {
        var index = _machines.Count;
        var machine = new Machine(name, $"flotilla-{_id}-{name}", $"{_prefix}.{index + 2}", $"fl{_id}{index}h", $"fl{_id}{index}n");
        _machines.Add(machine);
        await Shell.RunAsync("ip", "netns", "add", machine.Namespace);
        await Shell.RunAsync("ip", "link", "add", machine.HostLink, "type", "veth", "peer", "name", machine.InnerLink);
        await Shell.RunAsync("ip", "link", "set", machine.InnerLink, "netns", machine.Namespace);
        await Shell.RunAsync("ip", "link", "set", machine.HostLink, "master", Bridge, "up");
        await Shell.RunAsync("ip", "-n", machine.Namespace, "addr", "add", $"{machine.Address}/24", "dev", machine.InnerLink);
        await Shell.RunAsync("ip", "-n", machine.Namespace, "link", "set", machine.InnerLink, "up");
        await Shell.RunAsync("ip", "-n", machine.Namespace, "link", "set", "lo", "up");
        return machine;
    }

    /// <summary>Unplugs the machine's cable: packets to and from it vanish (no reset), as in a network partition.</summary>
    public static Task CutAsync(Machine machine) => Shell.RunAsync("ip", "link", "set", machine.HostLink, "down");

    public static Task HealAsync(Machine machine) => Shell.RunAsync("ip", "link", "set", machine.HostLink, "up");

    /// <summary>Adds <paramref name="delay"/> to every packet the machine sends (tc netem), e.g. to model a slow link.</summary>
    public static Task DelayAsync(Machine machine, TimeSpan delay) =>
        Shell.RunAsync("ip", "netns", "exec", machine.Namespace, "tc", "qdisc", "replace", "dev", machine.InnerLink, "root", "netem",
            "delay", $"{(int)delay.TotalMilliseconds}ms");

    public async ValueTask DisposeAsync()
    {
        foreach (var machine in _machines)
        {
            // Deleting the namespace deletes its end of the pair, and with it the host's end.
            await Shell.TryRunAsync("ip", "netns", "del", machine.Namespace);
            await Shell.TryRunAsync("ip", "link", "del", machine.HostLink);
        }
        await Shell.TryRunAsync("ip", "link", "del", Bridge);
    }
}

/// <summary>One machine of the harness: a network namespace with its own address.</summary>
internal sealed record Machine(string Name, string Namespace, string Address, string HostLink, string InnerLink);
