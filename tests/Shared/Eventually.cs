using System.Diagnostics;

namespace Flotilla.Testing;

/// <summary>
/// Waits for something another part makes true in its own time — an outbox delivery, a deployment, an execution
/// ending — by reading it again every <c>every</c> until a deadline, then fails naming what was awaited and the
/// last value read. The one poll loop of the test suites; tests do not sleep for a fixed time.
/// </summary>
internal static class Eventually
{
    private static readonly TimeSpan DefaultWithin = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DefaultEvery = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The first value <paramref name="read"/> returns that satisfies <paramref name="until"/>; <c>context</c>, read
    /// only on a timeout, adds to the failure (e.g. a server process's output so far).
    /// </summary>
    public static async Task<T> ValueAsync<T>(
        Func<Task<T>> read, Func<T, bool> until, string what, TimeSpan? within = null, TimeSpan? every = null, Func<string>? context = null)
    {
        var deadline = within ?? DefaultWithin;
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (until(value))
            {
                return value;
            }
            if (watch.Elapsed > deadline)
            {
                Assert.Fail($"Timed out after {deadline.TotalSeconds:0.#} s waiting until {what}; last seen: {value}.{(context is null ? "" : "\n" + context())}");
            }
            await Task.Delay(every ?? DefaultEvery);
        }
    }

    public static Task TrueAsync(Func<Task<bool>> condition, string what, TimeSpan? within = null, TimeSpan? every = null) =>
        ValueAsync(condition, held => held, what, within, every);

    public static Task TrueAsync(Func<bool> condition, string what, TimeSpan? within = null, TimeSpan? every = null) =>
        ValueAsync(() => Task.FromResult(condition()), held => held, what, within, every);
}
