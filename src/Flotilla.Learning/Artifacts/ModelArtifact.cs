using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Flotilla.Learning.Artifacts;

/// <summary>
/// The model file: magic "FLTM", format version, a JSON header (schema and metadata, readable by any tool)
/// and the predictor's arrays. It holds data only — loading can never run code — and is content-addressed
/// by its SHA-256, which <see cref="Load"/> checks before reading anything.
/// </summary>
public static class ModelArtifact
{
    public const int FormatVersion = 1;

    private static readonly byte[] Magic = "FLTM"u8.ToArray();

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static byte[] Serialize(TrainedModel model)
    {
        using var memory = new MemoryStream();
        WriteTo(model, memory);
        return memory.ToArray();
    }

    public static void WriteTo(TrainedModel model, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        var header = JsonSerializer.SerializeToUtf8Bytes(new ArtifactHeader(model.Schema, model.Metadata), Json);
        writer.Write(header.Length);
        writer.Write(header);
        model.Predictor.Write(writer);
    }

    /// <summary>Lowercase hex SHA-256, the artifact's identity.</summary>
    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Verifies the hash and format version, then loads a thread-safe scorer.</summary>
    public static LoadedModel Load(ReadOnlySpan<byte> bytes, string expectedSha256)
    {
        ArgumentNullException.ThrowIfNull(expectedSha256);
        var actual = Sha256(bytes);
        if (!actual.Equals(expectedSha256.Trim(), StringComparison.OrdinalIgnoreCase))
        {
            throw new ArtifactException(
                $"The artifact's SHA-256 is {actual}, not the expected {expectedSha256}: it was changed or is a different file. Refusing to load it.");
        }

        if (bytes.Length < 12 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new ArtifactException("This is not a Flotilla model artifact (its first bytes are not 'FLTM').");
        }

        var version = BitConverter.ToInt32(bytes[4..8]);
        if (version != FormatVersion)
        {
            throw new ArtifactException(
                $"The artifact has format version {version}; this Flotilla reads version {FormatVersion}. Retrain the model or use a matching Flotilla.");
        }

        try
        {
            using var stream = new MemoryStream(bytes[8..].ToArray(), writable: false);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var headerLength = reader.ReadInt32();
            if (headerLength <= 0 || headerLength > stream.Length - 4)
            {
                throw new ArtifactException("The artifact is corrupt: its header length is out of range.");
            }

            var header = JsonSerializer.Deserialize<ArtifactHeader>(reader.ReadBytes(headerLength), Json)
                ?? throw new ArtifactException("The artifact is corrupt: its header is empty.");
            var predictor = Predictor.Read(reader);
            if (stream.Position != stream.Length)
            {
                throw new ArtifactException("The artifact is corrupt: it has bytes after the model.");
            }

            if (!predictor.Fits(header.Schema.EncodedWidth))
            {
                throw new ArtifactException("The artifact is corrupt: its model does not match the width of its input schema.");
            }

            return new LoadedModel(header.Schema, header.Metadata, predictor, actual, bytes.Length);
        }
        catch (Exception e) when (e is JsonException or EndOfStreamException or IOException or ArgumentException or NotSupportedException)
        {
            throw new ArtifactException($"The artifact is corrupt: {e.Message}", e);
        }
    }

    /// <summary>Versions recorded in every model's metadata.</summary>
    internal static IReadOnlyDictionary<string, string> LibraryVersions { get; } = new SortedDictionary<string, string>(StringComparer.Ordinal)
    {
        ["Flotilla.Learning"] = Version(typeof(ModelArtifact).Assembly),
        ["Microsoft.ML"] = Version(typeof(Microsoft.ML.MLContext).Assembly),
        ["Microsoft.ML.FastTree"] = Version(typeof(Microsoft.ML.Trainers.FastTree.FastTreeBinaryTrainer).Assembly),
        ["Microsoft.ML.LightGbm"] = Version(typeof(Microsoft.ML.Trainers.LightGbm.LightGbmBinaryTrainer).Assembly),
        ["System.Numerics.Tensors"] = Version(typeof(System.Numerics.Tensors.TensorPrimitives).Assembly),
        ["artifactFormat"] = FormatVersion.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [".NET"] = Environment.Version.ToString(),
    };

    private static string Version(Assembly assembly) =>
        assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? assembly.GetName().Version?.ToString() ?? "unknown";

    private sealed record ArtifactHeader(ModelSchema Schema, ModelMetadata Metadata);
}
