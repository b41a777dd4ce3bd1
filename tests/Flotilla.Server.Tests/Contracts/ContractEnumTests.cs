namespace Flotilla.Server.Tests.Contracts;

/// <summary>
/// The server converts its domain enums to the contracts' by value (a cast, nothing on the hot path): each pair
/// must have the same names in the same order, or a status would silently change meaning on the wire.
/// </summary>
public sealed class ContractEnumTests
{
    public static TheoryData<Type, Type> Pairs() => new()
    {
        { typeof(Flotilla.Pipelines.Execution.ExecutionStatus), typeof(Flotilla.Contracts.ExecutionStatus) },
        { typeof(Flotilla.Pipelines.Execution.StepStatus), typeof(Flotilla.Contracts.StepStatus) },
        { typeof(Flotilla.Tuning.TrialStatus), typeof(Flotilla.Contracts.TrialStatus) },
        { typeof(Flotilla.Pipelines.Definitions.ValueType), typeof(Flotilla.Contracts.ParameterType) },
        { typeof(Flotilla.Registry.ApprovalStatus), typeof(Flotilla.Contracts.ApprovalStatus) },
        { typeof(Flotilla.Fleet.Aliases.DeploymentReason), typeof(Flotilla.Contracts.DeploymentReason) },
        { typeof(Flotilla.Fleet.Rollout.RolloutState), typeof(Flotilla.Contracts.RolloutState) },
        { typeof(Flotilla.Fleet.Rollout.CanaryVerdict), typeof(Flotilla.Contracts.CanaryVerdict) },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void A_contract_enum_has_the_domain_names_in_the_domain_order(Type domain, Type contract)
    {
        Assert.Equal(Enum.GetNames(domain), Enum.GetNames(contract));
        Assert.Equal(
            Enum.GetValues(domain).Cast<object>().Select(Convert.ToInt64),
            Enum.GetValues(contract).Cast<object>().Select(Convert.ToInt64));
    }
}
