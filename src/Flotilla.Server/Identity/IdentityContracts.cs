namespace Flotilla.Server.Identity;

/// <summary>Keys and audit entries as the API answers them.</summary>
internal static class IdentityContracts
{
    public static Contracts.ApiKey ToContract(this ApiKey k) =>
        new(k.Id, k.Name, k.Roles, k.Groups, k.CreatedBy, k.CreatedAt, k.ExpiresAt, k.RevokedAt);

    public static Contracts.AuditEntry ToContract(this AuditEntry e) =>
        new(e.Id, e.At, e.Actor, e.ActorId, e.Roles, e.Action, e.Target, e.Path, e.Status, e.Client, e.Repeats);
}
