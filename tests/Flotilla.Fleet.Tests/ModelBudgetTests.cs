using Flotilla.Fleet.Models;
using Microsoft.Extensions.Options;

namespace Flotilla.Fleet.Tests;

public sealed class ModelBudgetTests
{
    private readonly List<string> _evicted = [];

    private static ModelBudget Budget(long bytes) => new(Options.Create(new FleetOptions { MemoryBudgetBytes = bytes }));

    private ModelBudget.Entry Admit(ModelBudget budget, string model, long bytes) =>
        budget.Admit(model, bytes, () => _evicted.Add(model)).Entry;

    [Fact]
    public void Admitting_beyond_the_budget_evicts_the_least_recently_used_models_first()
    {
        var budget = Budget(300);
        Admit(budget, "a", 100);
        Admit(budget, "b", 100);
        Admit(budget, "c", 100);

        Admit(budget, "d", 150);

        Assert.Equal(["a", "b"], _evicted);
        Assert.Equal(250, budget.BytesInUse);
        Assert.Equal(["d", "c"], budget.Snapshot().Select(m => m.ArtifactSha256));
    }

    [Fact]
    public void Using_a_model_protects_it_from_the_next_eviction()
    {
        var budget = Budget(300);
        var a = Admit(budget, "a", 100);
        Admit(budget, "b", 100);
        Admit(budget, "c", 100);

        budget.Touch(a);
        Admit(budget, "d", 100);

        Assert.Equal(["b"], _evicted);
        Assert.Equal(["d", "a", "c"], budget.Snapshot().Select(m => m.ArtifactSha256));
    }

    [Fact]
    public void A_model_larger_than_the_whole_budget_is_refused_and_evicts_nothing()
    {
        var budget = Budget(300);
        Admit(budget, "a", 100);

        var refused = Assert.Throws<ModelTooLargeException>(() => Admit(budget, "huge", 301));

        Assert.Contains("huge", refused.Message);
        Assert.Contains("MemoryBudgetBytes", refused.Message);
        Assert.Empty(_evicted);
        Assert.Equal(100, budget.BytesInUse);
    }

    [Fact]
    public void Releasing_a_stale_entry_keeps_the_newer_activation_of_the_same_model()
    {
        var budget = Budget(300);
        var old = Admit(budget, "a", 100);
        Admit(budget, "a", 120);

        budget.Release(old);

        Assert.Equal(120, budget.BytesInUse);
        Assert.Equal(1, budget.Count);
    }

    [Fact]
    public void Bytes_in_use_never_exceed_the_budget_under_a_long_random_trace()
    {
        var budget = Budget(1_000);
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var model = $"m{random.Next(50)}";
            Admit(budget, model, 50 + random.Next(150));
            Assert.InRange(budget.BytesInUse, 0, 1_000);
        }
        Assert.Equal(budget.Snapshot().Sum(m => m.Bytes), budget.BytesInUse);
    }
}
