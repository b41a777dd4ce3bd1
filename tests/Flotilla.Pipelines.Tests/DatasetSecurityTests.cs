using Dapper;
using Flotilla.Pipelines.Datasets;
using Flotilla.Storage.Artifacts;
using Flotilla.Storage.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace Flotilla.Pipelines.Tests;

public sealed class DatasetSecurityTests
{
    private static Task<PipelineHost> StartWithDefaultRootsAsync() => PipelineHost.StartAsync(configure: o => o.DataRoots = []);

    [Fact]
    public async Task By_default_only_the_imports_folder_is_a_data_root_and_it_exists_at_start()
    {
        await using var host = await StartWithDefaultRootsAsync();
        var imports = Path.Combine(host.DataDirectory, "imports");
        File.Copy(SharedData.Dataset("breast-cancer.csv"), Path.Combine(imports, "bc.csv"));

        var dataset = await host.Datasets.RegisterAsync("bc", Path.Combine(imports, "bc.csv"), "CLASS", [], CancellationToken.None);

        Assert.Equal(569, dataset.RowCount);
    }

    [Theory]
    [InlineData("/etc/passwd")]
    [InlineData("/etc/shadow")]
    [InlineData("imports/../flotilla.db")]
    [InlineData("/no/such/file.csv")]
    public async Task Reading_a_file_outside_the_data_roots_is_refused_without_quoting_it(string path)
    {
        await using var host = await StartWithDefaultRootsAsync();
        var full = path.StartsWith('/') ? path : Path.Combine(host.DataDirectory, path);

        var error = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.RegisterAsync("leak", full, "root", [], CancellationToken.None));

        Assert.Contains("outside the folders", error.Message);
        Assert.DoesNotContain("root:", error.Message);
        Assert.DoesNotContain("SQLite", error.Message);
        Assert.Empty(await host.Datasets.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_symlink_inside_the_data_root_to_a_file_outside_is_refused_before_it_is_opened()
    {
        await using var host = await StartWithDefaultRootsAsync();
        var imports = Path.Combine(host.DataDirectory, "imports");
        File.CreateSymbolicLink(Path.Combine(imports, "passwd.csv"), "/etc/passwd");
        Directory.CreateSymbolicLink(Path.Combine(imports, "etc"), "/etc");

        var file = await Assert.ThrowsAsync<DatasetException>(() =>
            host.Datasets.RegisterAsync("leak", Path.Combine(imports, "passwd.csv"), "root", [], CancellationToken.None));
        var folder = await Assert.ThrowsAsync<DatasetException>(() =>
            host.Datasets.RegisterAsync("leak", Path.Combine(imports, "etc", "passwd"), "root", [], CancellationToken.None));

        Assert.Contains("outside the folders", file.Message);
        Assert.Contains("outside the folders", folder.Message);
        Assert.DoesNotContain("root:", file.Message + folder.Message);
    }

    [Fact]
    public async Task A_file_in_the_root_that_is_not_a_dataset_is_refused_naming_the_line_but_not_its_content()
    {
        await using var host = await StartWithDefaultRootsAsync();
        var secret = Path.Combine(host.DataDirectory, "imports", "secrets.csv");
        await File.WriteAllTextAsync(secret, "user,password,admin\nalice,hunter2,no\nbob,swordfish,yes\ncarol,letmein,maybe\n");

        var missing = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.RegisterAsync("s", secret, "label", [], CancellationToken.None));
        var third = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.RegisterAsync("s", secret, "admin", [], CancellationToken.None));
        var single = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.RegisterAsync("s", secret, "user,password,admin", [], CancellationToken.None));

        Assert.Equal($"{secret}, line 1: the label column 'label' is not in the header.", missing.Message);
        Assert.Equal($"{secret}, line 4, column 'admin': a third label value. The label must have exactly two classes.", third.Message);
        foreach (var message in new[] { missing.Message, third.Message, single.Message })
        {
            Assert.DoesNotContain("password", message.Replace("user,password,admin", "", StringComparison.Ordinal));
            Assert.DoesNotContain("hunter2", message);
            Assert.DoesNotContain("maybe", message);
        }
        Assert.Empty(await host.Datasets.ListAsync(CancellationToken.None));
    }

    [Theory]
    [InlineData("y\n1\n0\n1\n", new string[0])]
    [InlineData("id,y\n1,1\n2,0\n3,1\n", new[] { "id" })]
    public async Task A_dataset_without_a_feature_column_is_refused_at_registration(string csv, string[] exclude)
    {
        await using var host = await PipelineHost.StartAsync();
        await using var upload = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(csv));

        var error = await Assert.ThrowsAsync<DatasetException>(() => host.Datasets.UploadAsync("bare", upload, "y", exclude, CancellationToken.None));

        Assert.Contains("no feature columns", error.Message);
        Assert.Null(await host.Datasets.FindAsync("bare", CancellationToken.None));
    }

    [Theory]
    [InlineData(PipelineHost.Backend.Sqlite)]
    [InlineData(PipelineHost.Backend.Postgres)]
    public async Task Two_datasets_with_the_same_content_share_one_object_which_goes_with_the_last_of_them(PipelineHost.Backend backend)
    {
        await using var host = await PipelineHost.StartAsync(backend);
        var store = host.Services.GetRequiredService<IArtifactStore>();
        foreach (var name in new[] { "first", "second" })
        {
            await using var csv = new MemoryStream("a,b,y\n1,2,0\n3,4,1\n5,6,0\n"u8.ToArray());
            await host.Datasets.UploadAsync(name, csv, "y", [], CancellationToken.None);
        }
        var first = await host.Datasets.GetAsync("first", CancellationToken.None);
        var second = await host.Datasets.GetAsync("second", CancellationToken.None);
        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", first.Path);
        Assert.Equal(first.Path, second.Path);
        Assert.Single(await store.ListObjectsAsync("datasets/", CancellationToken.None).ToListAsync());

        await host.Datasets.DeleteAsync("first", CancellationToken.None);

        Assert.NotNull(await store.FindObjectAsync(second.Path, CancellationToken.None));
        Assert.Equal(3, (await host.Datasets.LoadAsync("second", CancellationToken.None)).Table.RowCount);
        await host.Datasets.DeleteAsync("second", CancellationToken.None);
        Assert.Null(await store.FindObjectAsync(second.Path, CancellationToken.None));
    }

    [Fact]
    public async Task An_upload_is_found_after_its_data_folder_moved()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-moved-").FullName;
        var moved = data + "-moved";
        var before = await PipelineHost.StartAsync(dataDirectory: data);
        await using (var csv = new MemoryStream("a,b,y\n1,2,0\n3,4,1\n5,6,0\n"u8.ToArray()))
        {
            await before.Datasets.UploadAsync("kept", csv, "y", [], CancellationToken.None);
        }
        await before.StopAsync();
        Directory.Move(data, moved);

        await using var after = await PipelineHost.StartAsync(dataDirectory: moved);
        var (dataset, table) = await after.Datasets.LoadAsync("kept", CancellationToken.None);

        Assert.Matches("^datasets/[0-9a-f]{64}/data.csv$", dataset.Path);
        Assert.Equal(3, table.RowCount);
    }

    [Fact]
    public async Task Rows_from_before_uploads_went_to_the_artifact_store_still_load_and_only_an_uploads_own_file_is_deleted()
    {
        var data = Directory.CreateTempSubdirectory("flotilla-legacy-").FullName;
        await using var host = await PipelineHost.StartAsync(dataDirectory: data, configure: o => o.DataRoots = [data]);
        var file = Path.Combine(data, "datasets", "old.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await File.WriteAllTextAsync(file, "a,b,y\n1,2,0\n3,4,1\n5,6,0\n");
        await host.Datasets.RegisterAsync("old", file, "y", [], CancellationToken.None);
        await host.Datasets.RegisterAsync("alias", file, "y", [], CancellationToken.None);
        // As an older server wrote them: the upload's own file by absolute path, no ownership recorded.
        await using (var connection = await host.Services.GetRequiredService<MetadataStore>().OpenConnectionAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync("UPDATE datasets SET uploaded = NULL, path = @File", new { File = file });
        }

        Assert.Equal(3, (await host.Datasets.LoadAsync("old", CancellationToken.None)).Table.RowCount);
        await host.Datasets.DeleteAsync("alias", CancellationToken.None);
        Assert.True(File.Exists(file));
        await host.Datasets.DeleteAsync("old", CancellationToken.None);
        Assert.False(File.Exists(file));
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:127.0.0.1", false)]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", true)]
    public void Only_public_addresses_count_as_public(string address, bool expected) =>
        Assert.Equal(expected, UrlPolicy.IsPublic(System.Net.IPAddress.Parse(address)));
}
