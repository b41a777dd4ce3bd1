using Flotilla.Fleet.Autoscaling;

namespace Flotilla.Fleet.Tests.Autoscaling;

public sealed class AutoscalerOptionsTests
{
    [Fact]
    public void The_defaults_are_valid_and_off()
    {
        var options = new AutoscalerOptions();

        Assert.False(options.Enabled);
        Assert.True(new AutoscalerOptionsValidator().Validate(null, options).Succeeded);
    }

    [Fact]
    public void Bad_values_fail_naming_each_setting()
    {
        var result = new AutoscalerOptionsValidator().Validate(null, new AutoscalerOptions
        {
            TargetInvocationsPerInstancePerSecond = 0,
            MinInstances = 3,
            MaxInstances = 2,
            Interval = TimeSpan.Zero,
            ScaleInStabilisationWindow = TimeSpan.FromSeconds(-1),
            Command = " ",
        });

        Assert.True(result.Failed);
        foreach (var setting in (string[])["TargetInvocationsPerInstancePerSecond", "MaxInstances", "Interval", "ScaleInStabilisationWindow", "Command"])
        {
            Assert.Contains($"Flotilla:Fleet:Autoscaler:{setting}", result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Enabling_the_autoscaler_outside_the_cluster_shape_fails_at_registration()
    {
        var services = new Microsoft.Extensions.DependencyInjection.ServiceCollection();

        var error = Assert.Throws<InvalidOperationException>(() => services.AddFlotillaAutoscaler(new AutoscalerOptions { Enabled = true }, cluster: null));

        Assert.Contains("cluster shape", error.Message, StringComparison.Ordinal);
    }
}
