using Flotilla.Cli;

namespace Flotilla.Server.Tests.Cli;

/// <summary>What one in-process run of the <c>flotilla</c> command printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Output, string Error)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
}

/// <summary>Runs the real command tree in this process with captured output (plain text, no ANSI).</summary>
internal static class CliRunner
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    /// <summary>Cancelling <paramref name="cancellationToken"/> is Ctrl+C.</summary>
    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        var exit = await FlotillaCli.RunAsync(args, output, error, timeout.Token);
        return new CliResult(exit, output.ToString(), error.ToString());
    }

    /// <summary>Against <paramref name="server"/>, with its admin key.</summary>
    public static Task<CliResult> RunAsync(RunningServer server, params string[] args) =>
        RunAsync([.. args, "--server", server.BaseAddress.ToString(), "--token", server.AdminKey]);
}
