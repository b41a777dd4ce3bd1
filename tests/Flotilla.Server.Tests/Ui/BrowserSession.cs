using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

/// <summary>
/// Debian's headless Chromium driven by Playwright (its NuGet package carries the driver; no browser
/// download). One browser per test class; each test opens its own page, which records script errors.
/// </summary>
public sealed class BrowserSession : IAsyncLifetime
{
    private static readonly string[] Candidates = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"];

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public static string ScreenshotDirectory { get; } =
        Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        var executable = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException($"Chromium not found at {string.Join(" or ", Candidates)}; install it with `apt-get install -y chromium` (bash .ci/run does).");
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = executable,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
        });
    }

    /// <summary>A new page logged in to <paramref name="server"/> the way `flotilla demo`'s link does: the admin key in the URL fragment.</summary>
    public async Task<(IPage Page, List<string> Errors)> OpenAsync(RunningServer server)
    {
        var (page, errors) = await OpenAnonymousAsync(server.BaseAddress);
        await page.GotoAsync("/#key=" + Uri.EscapeDataString(server.AdminKey));
        await page.WaitForURLAsync(url => url.EndsWith("#/executions", StringComparison.Ordinal));
        return (page, errors);
    }

    public async Task<(IPage Page, List<string> Errors)> OpenAnonymousAsync(Uri baseAddress)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1280, Height = 900 },
        });
        context.SetDefaultTimeout(30_000);
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        page.Console += (_, message) =>
        {
            if (message.Type == "error" && !message.Text.Contains("404", StringComparison.Ordinal))
            {
                errors.Add(message.Text);
            }
        };
        return (page, errors);
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }
        _playwright?.Dispose();
    }
}
