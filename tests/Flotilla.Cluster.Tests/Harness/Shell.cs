using System.Diagnostics;

namespace Flotilla.Cluster.Tests.Harness;

/// <summary>Runs one system command (ip, tc, kill) and fails with its output when it exits non-zero.</summary>
internal static class Shell
{
    public static async Task RunAsync(string file, params string[] arguments)
    {
        var (code, output) = await TryRunAsync(file, arguments);
        if (code != 0)
        {
            throw new InvalidOperationException($"`{file} {string.Join(' ', arguments)}` exited with {code}: {output}");
        }
    }

    /// <summary>The exit code and output; for clean-up, where a part already gone is not an error.</summary>
    public static async Task<(int Code, string Output)> TryRunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"The cluster harness needs `{file}` on the PATH ({e.Message}); install iproute2 and util-linux.", e);
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            return (process.ExitCode, (await output + await error).Trim());
        }
    }
}
