namespace Flotilla.Storage.Metadata;

/// <summary>
/// One step of a component's schema. Each component owns its tables: it registers its migrations with
/// <see cref="StorageServiceCollectionExtensions.AddFlotillaMigrations"/> (or passes them to a store directly),
/// numbered 1, 2, 3… per component. The store applies the missing ones in order when it is first used and
/// records each in <c>schema_migrations</c>; an applied migration is never edited, a change is a new version.
/// The SQL must keep to the portable subset described on <see cref="MetadataStore"/>; several statements
/// separated by semicolons are allowed.
/// </summary>
public sealed record Migration(string Component, int Version, string Sql);
