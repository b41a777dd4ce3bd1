using Flotilla.Pipelines.Execution;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Flotilla.Pipelines.Datasets;

/// <summary>Creates the default data root at start, so the folder to drop a CSV into exists before anyone asks.</summary>
internal sealed class ImportsFolder(IOptions<PipelineOptions> options) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.DataRoots.Count == 0)
        {
            Directory.CreateDirectory(options.Value.ImportsDirectory);
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
