namespace Flotilla.Contracts;

/// <summary><c>PUT /api/endpoint/groups/{group}/capture</c>: the share of the group's calls captured, in percent; null follows the server's default.</summary>
public sealed record CaptureSetting(double? Percent);

/// <summary>A group's capture: the share in force, whether it is the group's own setting, where batches go and what they hold.</summary>
public sealed record CaptureView(string Group, double Percent, bool OwnSetting, string Prefix, long Objects, long Bytes);
