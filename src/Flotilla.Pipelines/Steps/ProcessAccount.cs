using System.Diagnostics;
using System.Globalization;

namespace Flotilla.Pipelines.Steps;

/// <summary>
/// The account a Process step's command runs as (<c>Flotilla:Pipelines:ProcessUser</c>). .NET switches users
/// only on Windows (and only with a password), so on Linux the command is started through util-linux's
/// <c>setpriv</c>, which sets the real and effective user and group, the account's supplementary groups, and
/// no-new-privileges (a setuid program cannot climb back) before it executes the command.
/// </summary>
internal sealed record ProcessAccount(string Name, int UserId, int GroupId)
{
    public const string Launcher = "setpriv";

    public static async Task<ProcessAccount> ResolveAsync(string name, CancellationToken ct)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new StepFailedException("Flotilla:Pipelines:ProcessUser is supported on Linux only (through setpriv); unset it on this server.");
        }
        var user = await RunAsync("id", ["-u", name], ct);
        var group = await RunAsync("id", ["-g", name], ct);
        return user is { } u && group is { } g
            ? new ProcessAccount(name, int.Parse(u, CultureInfo.InvariantCulture), int.Parse(g, CultureInfo.InvariantCulture))
            : throw new StepFailedException($"Flotilla:Pipelines:ProcessUser names '{name}', which is not an account on this machine.");
    }

    /// <summary>Whether the account can be switched to here, checked at start so a wrong setting fails at boot.</summary>
    public static bool Exists(string name)
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        var start = new ProcessStartInfo("id") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add(name);
        using var process = Process.Start(start)!;
        process.StandardOutput.ReadToEnd();
        process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0;
    }

    /// <summary>Makes a folder (and everything in it) this account's, so the command can read its inputs and write its outputs.</summary>
    public async Task TakeOwnershipAsync(string folder, CancellationToken ct)
    {
        if (await RunAsync("chown", ["-R", $"{UserId}:{GroupId}", folder], ct) is null)
        {
            throw new StepFailedException($"Cannot give the step's folder to account '{Name}' (chown failed): the server must run with the right to switch users for Flotilla:Pipelines:ProcessUser.");
        }
    }

    /// <summary>The launcher's arguments that come before the command's program and arguments.</summary>
    public IEnumerable<string> LauncherArguments() =>
    [
        $"--reuid={UserId}", $"--regid={GroupId}", "--init-groups", "--no-new-privs", "--",
    ];

    // The trimmed standard output of a tool that exited 0, or null.
    private static async Task<string?> RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken ct)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(ct);
        _ = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct);
        return process.ExitCode == 0 ? (await output).Trim() : null;
    }
}
