using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Flotilla.Server.Tests.Monitoring;
using Microsoft.Playwright;

namespace Flotilla.Server.Tests.Ui;

public sealed class DriftPageTests(MonitoredServer fixture, BrowserSession browser) : IClassFixture<MonitoredServer>, IClassFixture<BrowserSession>
{
    [Fact]
    public async Task The_group_page_shows_training_against_live_histograms_per_feature_live_quality_beside_the_test_evaluation_and_the_capture()
    {
        (await fixture.Client.PutAsJsonAsync($"/api/endpoint/groups/{MonitoredServer.Group}/capture", new { percent = 10 })).EnsureSuccessStatusCode();
        var rows = MonitoredServer.Rows(new Random(31), 120, widthShift: 8);
        var ids = new List<string>();
        foreach (var row in rows)
        {
            using var response = await fixture.Client.PostAsync($"/models/{MonitoredServer.Group}/invocations",
                new StringContent(MonitoredServer.Csv(row), Encoding.UTF8, "text/csv"));
            ids.Add(response.Headers.GetValues("X-Flotilla-Request-Id").Single());
        }
        var feedback = JsonSerializer.Serialize(ids.Select((id, i) => new { requestId = id, label = rows[i].Label }));
        (await fixture.Client.PostAsync($"/models/{MonitoredServer.Group}/feedback", new StringContent(feedback, Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();

        var (page, errors) = await browser.OpenAsync(fixture.Server);
        await page.GotoAsync($"/#/registry/{MonitoredServer.Group}");
        await Assertions.Expect(page.GetByTestId("drift-summary")).ToContainTextAsync("Alert");
        await Assertions.Expect(page.GetByTestId("drift-summary")).ToContainTextAsync("Most drifted: width");
        foreach (var feature in new[] { "width", "height", "color", "score" })
        {
            await Assertions.Expect(page.GetByTestId($"drift-{feature}")).ToBeVisibleAsync();
        }
        Assert.True(await page.GetByTestId("drift-width").Locator("rect[data-series=live]").CountAsync() >= 2);
        await Assertions.Expect(page.GetByTestId("live-metrics")).ToContainTextAsync("v1");
        await Assertions.Expect(page.GetByTestId("live-metrics")).ToContainTextAsync("120");
        // The registered evaluation's AUC (0.9) in the test column, beside the live one.
        await Assertions.Expect(page.GetByTestId("live-metrics").Locator("tbody tr").First).ToContainTextAsync("0.9000");
        await Assertions.Expect(page.GetByTestId("reliability-v1")).ToBeVisibleAsync();
        Assert.True(await page.GetByTestId("reliability-v1").Locator("circle").CountAsync() >= 2, "labelled rows fall in at least two tenths of P(positive)");
        await Assertions.Expect(page.GetByTestId("capture-summary")).ToContainTextAsync("10 % of calls captured (this group's setting)");
        await BrowserSession.ScreenshotAsync(page, "group-drift");
        Assert.Empty(errors);
    }
}
