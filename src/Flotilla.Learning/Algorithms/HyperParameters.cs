using System.Collections;
using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Flotilla.Learning.Algorithms;

/// <summary>A hyper-parameter value: a number (integers included) or a categorical choice.</summary>
[JsonConverter(typeof(ParameterValueJsonConverter))]
public readonly record struct ParameterValue
{
    private ParameterValue(double? number, string? text) => (Number, Text) = (number, text);

    public double? Number { get; }
    public string? Text { get; }

    public static ParameterValue Of(double number) => new(number, null);
    public static ParameterValue Of(string choice) => new(null, choice);

    public static implicit operator ParameterValue(double number) => Of(number);
    public static implicit operator ParameterValue(string choice) => Of(choice);

    public override string ToString() =>
        Number is { } n ? n.ToString("R", CultureInfo.InvariantCulture) : Text ?? "";
}

/// <summary>An algorithm's hyper-parameters by name, ordered by name so equal sets print and hash alike.</summary>
[JsonConverter(typeof(HyperParametersJsonConverter))]
public sealed class HyperParameters(ImmutableSortedDictionary<string, ParameterValue> values)
    : IReadOnlyDictionary<string, ParameterValue>, IEquatable<HyperParameters>
{
    public static readonly HyperParameters Empty = new(ImmutableSortedDictionary<string, ParameterValue>.Empty);

    public HyperParameters(IEnumerable<KeyValuePair<string, ParameterValue>> values)
        : this(values.ToImmutableSortedDictionary(StringComparer.Ordinal)) { }

    public ParameterValue this[string key] => values[key];
    public IEnumerable<string> Keys => values.Keys;
    public IEnumerable<ParameterValue> Values => values.Values;
    public int Count => values.Count;
    public bool ContainsKey(string key) => values.ContainsKey(key);
    public bool TryGetValue(string key, out ParameterValue value) => values.TryGetValue(key, out value);
    public IEnumerator<KeyValuePair<string, ParameterValue>> GetEnumerator() => values.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public HyperParameters With(string name, ParameterValue value) => new(values.SetItem(name, value));

    public double GetDouble(string name, double fallback) =>
        values.TryGetValue(name, out var v) ? v.Number ?? throw NotA(name, v, "a number") : fallback;

    public int GetInt(string name, int fallback) =>
        values.TryGetValue(name, out var v) ? (int)Math.Round(v.Number ?? throw NotA(name, v, "a whole number")) : fallback;

    public string GetString(string name, string fallback) =>
        values.TryGetValue(name, out var v) ? v.Text ?? throw NotA(name, v, "a choice") : fallback;

    private static ArgumentException NotA(string name, ParameterValue v, string what) =>
        new($"Hyper-parameter '{name}' = {v} is not {what}.");

    public bool Equals(HyperParameters? other) =>
        other is not null && other.Count == Count && values.All(kv => other.TryGetValue(kv.Key, out var v) && v == kv.Value);

    public override bool Equals(object? obj) => Equals(obj as HyperParameters);

    public override int GetHashCode() =>
        values.Aggregate(0, (h, kv) => HashCode.Combine(h, kv.Key, kv.Value));

    public override string ToString() => string.Join(", ", values.Select(kv => $"{kv.Key}={kv.Value}"));
}

internal sealed class ParameterValueJsonConverter : JsonConverter<ParameterValue>
{
    public override ParameterValue Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Number => ParameterValue.Of(reader.GetDouble()),
            JsonTokenType.String => ParameterValue.Of(reader.GetString()!),
            JsonTokenType.True => ParameterValue.Of("true"),
            JsonTokenType.False => ParameterValue.Of("false"),
            JsonTokenType.Null => ParameterValue.Of("none"),
            _ => throw new JsonException($"A hyper-parameter value must be a number or a string, not {reader.TokenType}."),
        };

    public override void Write(Utf8JsonWriter writer, ParameterValue value, JsonSerializerOptions options)
    {
        if (value.Number is { } n)
        {
            writer.WriteNumberValue(n);
        }
        else
        {
            writer.WriteStringValue(value.Text);
        }
    }
}

internal sealed class HyperParametersJsonConverter : JsonConverter<HyperParameters>
{
    public override HyperParameters Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new(JsonSerializer.Deserialize<Dictionary<string, ParameterValue>>(ref reader, options)
            ?? throw new JsonException("Hyper-parameters must be a JSON object."));

    public override void Write(Utf8JsonWriter writer, HyperParameters value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.ToDictionary(kv => kv.Key, kv => kv.Value), options);
}
