using System.Diagnostics;
using Flotilla.Pipelines.Definitions;

namespace Flotilla.Pipelines.Tests;

public sealed class DefinitionHardeningTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    /// <summary>The 421-byte "billion laughs": nine levels of nine aliases each, 9^9 strings once expanded.</summary>
    public const string BillionLaughs = """
        name: x
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        """;

    private DefinitionError Refusal(string text) =>
        Assert.Single(Assert.Throws<DefinitionException>(() => DefinitionReader.Parse(text, fixture.Steps)).Errors);

    [Fact]
    public void The_billion_laughs_alias_bomb_is_refused_at_its_first_anchor_without_expanding_it()
    {
        var clock = Stopwatch.StartNew();
        var error = Refusal(BillionLaughs);

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal(421, System.Text.Encoding.UTF8.GetByteCount(BillionLaughs));
        Assert.Equal("line 2, column 4", error.Where);
        Assert.Contains("anchors", error.Message);
    }

    [Fact]
    public void An_alias_to_a_scalar_is_refused_naming_its_line_and_column()
    {
        var error = Refusal("name: x\ndescription: *nothing\nsteps: []\n");

        Assert.StartsWith("line 2, column", error.Where);
    }

    [Theory]
    [InlineData("name: x\nname: y\nsteps: []\n", "line 2, column 1", "twice")]
    [InlineData("? [a, b]\n: 1\n", "line 1, column 3", "plain name")]
    [InlineData("{ [a]: 1 }", "line 1, column 3", "plain name")]
    [InlineData("name: x\n---\nname: y\n", "line 2, column 1", "one YAML document")]
    [InlineData("name: [unclosed\n", "line 2, column 1", "Not valid YAML")]
    [InlineData("{\"name\": \"x\", \"name\": \"y\", \"steps\": []}", "line 1, column 15", "twice")]
    public void A_malformed_definition_is_refused_with_line_and_column(string text, string where, string message)
    {
        var error = Refusal(text);

        Assert.Equal(where, error.Where);
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_definition_nested_deeper_than_the_cap_is_refused()
    {
        var deep = "name: x\nsteps: " + new string('[', YamlToJson.MaxDepth + 1) + new string(']', YamlToJson.MaxDepth + 1) + "\n";

        Assert.Contains("nests deeper", Refusal(deep).Message);
    }

    [Fact]
    public void A_definition_larger_than_the_cap_is_refused_before_it_is_parsed()
    {
        var huge = "name: x\ndescription: " + new string('x', DefinitionReader.MaxDefinitionChars) + "\nsteps: []\n";

        var error = Refusal(huge);

        Assert.Equal("(document)", error.Where);
        Assert.Contains("at most", error.Message);
    }
}
