namespace Flotilla.Testing;

/// <summary>The built <c>flotilla.dll</c> that tests start as a server process of its own.</summary>
internal static class FlotillaCliBinary
{
    /// <summary>The CLI built in this test assembly's configuration (bin/&lt;configuration&gt;/net10.0/ names it).</summary>
    public static string Path { get; } = Find();

    private static string Find()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var path = System.IO.Path.Combine(RepositoryRoot(), "src", "Flotilla.Cli", "bin", configuration, "net10.0", "flotilla.dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build the CLI first ({path} is missing): dotnet build src/Flotilla.Cli -c {configuration}.");
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(directory.FullName, "Flotilla.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException($"No Flotilla.slnx above {AppContext.BaseDirectory}.");
    }
}
