using System.Security.Cryptography;
using System.Text;
using Flotilla.Storage.Artifacts;

namespace Flotilla.Storage.Tests;

/// <summary>What only the folder store promises: files in place, no temporaries, damage detected.</summary>
public sealed class FolderArtifactStoreTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("flotilla-artifacts-").FullName;

    [Fact]
    public async Task Concurrent_puts_of_the_same_bytes_leave_one_file_and_no_temporaries()
    {
        var store = new FolderArtifactStore(_root);
        var bytes = RandomNumberGenerator.GetBytes(256 * 1024);

        var refs = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => store.PutAsync(bytes, CancellationToken.None))));

        Assert.Equal($"sha256/{refs[0].Sha256[..2]}/{refs[0].Sha256}", refs[0].Uri.OriginalString);
        Assert.True(File.Exists(Path.Combine(_root, refs[0].Uri.OriginalString)));
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "sha256"), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root, ".incoming")));
    }

    [Fact]
    public async Task A_damaged_artifact_is_detected_on_a_verified_read()
    {
        var store = new FolderArtifactStore(_root);
        var stored = await store.PutAsync(Encoding.UTF8.GetBytes("original"), CancellationToken.None);
        await File.WriteAllTextAsync(Path.Combine(_root, stored.Uri.OriginalString), "tampered");

        var error = await Assert.ThrowsAsync<ArtifactIntegrityException>(() => store.ReadVerifiedAsync(stored.Sha256, CancellationToken.None));

        Assert.Contains(stored.Sha256, error.Message);
        Assert.Contains(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("tampered"))), error.Message);
    }

    [Fact]
    public async Task A_put_that_fails_half_way_leaves_nothing_behind()
    {
        var store = new FolderArtifactStore(_root);

        await Assert.ThrowsAsync<IOException>(() => store.PutAsync(new FailingStream(bytesBeforeFailure: 100_000), CancellationToken.None));

        Assert.Empty(Directory.GetFiles(_root, "*", SearchOption.AllDirectories));
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    /// <summary>A source that breaks mid-read, like a dropped upload.</summary>
    private sealed class FailingStream(int bytesBeforeFailure) : Stream
    {
        private int _left = bytesBeforeFailure;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left <= 0)
                throw new IOException("connection reset by peer");
            var n = Math.Min(count, _left);
            Array.Fill(buffer, (byte)7, offset, n);
            _left -= n;
            return n;
        }
    }
}
