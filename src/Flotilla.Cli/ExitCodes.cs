namespace Flotilla.Cli;

/// <summary>Process exit codes: scripts can tell "the server said no" from "no server" from "the model failed its gate".</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int InvalidInput = 2;
    public const int ServerUnreachable = 3;
    public const int NotFound = 4;
    public const int ExecutionFailed = 5;
    public const int Cancelled = 130;
}
