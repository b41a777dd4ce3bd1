namespace Flotilla.Pipelines.Datasets;

/// <summary>Configuration section "Flotilla:Datasets": where a dataset given by URL may be fetched from.</summary>
public sealed class DatasetSourceOptions
{
    public const string Section = "Flotilla:Datasets";

    /// <summary>
    /// Hosts an http(s) dataset path may name. Empty (the default): no URL is fetched. An entry is a host name
    /// (<c>data.example.com</c>, which may then resolve to a private or loopback address: an administrator listed
    /// it by name) or <c>*.example.com</c> for its subdomains (which must resolve to public addresses only).
    /// </summary>
    public List<string> AllowedUrlHosts { get; set; } = [];

    /// <summary>
    /// Buckets an <c>s3://bucket/key</c> dataset path may name, read with the storage's S3 endpoint and
    /// credentials (<c>Flotilla:S3:*</c>). Empty (the default): no bucket is read.
    /// </summary>
    public List<string> AllowedS3Buckets { get; set; } = [];
}
