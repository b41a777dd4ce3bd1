using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

public sealed class LoginTests(RunningServer server, BrowserSession browser) : IClassFixture<RunningServer>, IClassFixture<BrowserSession>
{
    [Fact]
    public async Task Without_a_key_the_ui_asks_for_one_and_a_pasted_key_logs_in()
    {
        var (page, errors) = await browser.OpenAnonymousAsync(server.BaseAddress);
        await page.GotoAsync("/#/datasets");

        await Assertions.Expect(page.GetByTestId("login")).ToBeVisibleAsync();
        await page.GetByLabel("API key").FillAsync(server.AdminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();

        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Datasets");
        Assert.DoesNotContain(errors, e => !e.Contains("401", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_key_brings_the_form_back_and_a_key_without_a_role_is_told_which_one_it_lacks()
    {
        var (page, _) = await browser.OpenAnonymousAsync(server.BaseAddress);
        await page.GotoAsync("/#key=flk_not-a-real-key");
        await Assertions.Expect(page.GetByTestId("login")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("did not accept the key");

        var viewer = await server.CreateKeyAsync("ui-viewer", ["viewer"]);
        await page.GetByLabel("API key").FillAsync(viewer);
        await page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await page.GotoAsync("/#/audit");

        await Assertions.Expect(page.Locator("[role=alert]")).ToContainTextAsync("lacks role 'approver'");
    }

    [Fact]
    public async Task The_audit_page_lists_what_the_admin_did()
    {
        await server.CreateKeyAsync("ui-audited", ["viewer"]);
        var (page, errors) = await browser.OpenAsync(server);
        await page.GotoAsync("/#/audit");

        await Assertions.Expect(page.GetByTestId("audit")).ToContainTextAsync("POST /api/keys");
        await Assertions.Expect(page.GetByTestId("audit")).ToContainTextAsync("bootstrap-admin");
        Assert.Empty(errors);
    }
}
