using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Cli.Stacks;

/// <summary>
/// Where each entry of a stack file is: its key path (<c>monitoring.capture.multimodel-churn</c>,
/// <c>datasets[0].name</c>) and the line it starts on, so an error can name both.
/// </summary>
internal sealed class StackLocations
{
    private readonly List<(Mark Start, Mark End, string Path)> _entries = [];

    private StackLocations()
    {
    }

    /// <summary>The entries of <paramref name="yaml"/>; none when the text is not YAML (its parser's error says where).</summary>
    public static StackLocations Read(string yaml)
    {
        var locations = new StackLocations();
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException)
        {
            return locations;
        }
        if (stream.Documents is [{ RootNode: var root }, ..])
        {
            locations.Walk(root, "");
        }
        return locations;
    }

    /// <summary>The line (1-based) an entry's key starts on, or null when the file has no such entry.</summary>
    public long? LineOf(string path) =>
        _entries.FirstOrDefault(e => e.Path == path) is { Path: not null } entry ? entry.Start.Line : null;

    /// <summary>The innermost entry whose key or value spans <paramref name="mark"/>, or null.</summary>
    public string? PathAt(Mark mark) =>
        _entries.Where(e => e.Start.Index <= mark.Index && mark.Index <= e.End.Index)
            .OrderBy(e => e.End.Index - e.Start.Index)
            .Select(e => e.Path)
            .FirstOrDefault();

    private void Walk(YamlNode node, string path)
    {
        switch (node)
        {
            case YamlMappingNode mapping:
                foreach (var (key, value) in mapping.Children)
                {
                    var child = Join(path, key is YamlScalarNode { Value: { } name } ? name : key.ToString());
                    _entries.Add((key.Start, value.End, child));
                    Walk(value, child);
                }
                break;
            case YamlSequenceNode sequence:
                for (var i = 0; i < sequence.Children.Count; i++)
                {
                    var item = sequence.Children[i];
                    var child = $"{path}[{i}]";
                    _entries.Add((item.Start, item.End, child));
                    Walk(item, child);
                }
                break;
        }
    }

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
