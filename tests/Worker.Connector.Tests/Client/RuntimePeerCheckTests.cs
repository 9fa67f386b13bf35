using System.Diagnostics;
using Worker.Connector.Client;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Client;

/// <summary>
/// Socket squatting: another local user binds the runtime's socket path first and waits for our Authorization
/// header. The tests run as root; the squatter is a real listener process running as nobody (uid 65534) through
/// setpriv, and answers health checks so an accepted connection can be told from a refused one.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class RuntimePeerCheckTests
{
    private const uint Nobody = 65534;

    [Fact]
    public async Task A_socket_another_user_bound_in_a_world_writable_directory_is_refused_before_connecting()
    {
        using var directory = TempDirectory.Create(UnixFileMode.StickyBit | AllAccess);
        await using var squatter = await PeerListener.StartAsync(directory.File("runtime.sock"), asNobody: true);
        await using var client = NewClient(squatter.Path);

        var refused = await Assert.ThrowsAsync<ConnectorException>(() => client.HealthCheckAsync(TimeSpan.FromSeconds(5)));

        Assert.True(refused.RuntimeUnavailable);
        Assert.Contains(squatter.Path, refused.Message, StringComparison.Ordinal);
        Assert.Contains("uid 65534", refused.Message, StringComparison.Ordinal);
        Assert.Contains("writable by every user", refused.Message, StringComparison.Ordinal);
        Assert.Equal(0, squatter.Accepted);
    }

    [Fact]
    public async Task A_runtime_served_by_another_user_is_refused_after_connecting_and_is_sent_nothing()
    {
        // Only root and the nobody group may create files here: not world-writable, so the check after connecting decides.
        using var directory = TempDirectory.Create(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute, group: Nobody);
        await using var squatter = await PeerListener.StartAsync(directory.File("runtime.sock"), asNobody: true);
        await using var client = NewClient(squatter.Path);

        var refused = await Assert.ThrowsAsync<ConnectorException>(() => client.HealthCheckAsync(TimeSpan.FromSeconds(5)));

        Assert.Contains(squatter.Path, refused.Message, StringComparison.Ordinal);
        Assert.Contains("runs as uid 65534", refused.Message, StringComparison.Ordinal);
        Assert.Contains($"pid {squatter.ProcessId}", refused.Message, StringComparison.Ordinal);
        await squatter.WaitForClosedConnectionsAsync(1);
        Assert.Equal(0, squatter.BytesReceived);
    }

    [Fact]
    public async Task A_uid_listed_in_AllowedPeerUids_is_served()
    {
        using var directory = TempDirectory.Create(UnixFileMode.StickyBit | AllAccess);
        await using var runtime = await PeerListener.StartAsync(directory.File("runtime.sock"), asNobody: true);
        await using var client = NewClient(runtime.Path, Nobody);

        var health = await client.HealthCheckAsync(TimeSpan.FromSeconds(5));

        Assert.True(health.Healthy);
    }

    [Fact]
    public async Task Our_own_runtime_in_a_world_writable_directory_is_served()
    {
        using var directory = TempDirectory.Create(UnixFileMode.StickyBit | AllAccess);
        await using var runtime = await PeerListener.StartAsync(directory.File("runtime.sock"), asNobody: false);
        await using var client = NewClient(runtime.Path);

        Assert.True((await client.HealthCheckAsync(TimeSpan.FromSeconds(5))).Healthy);
    }

    [Fact]
    public async Task A_runtime_running_as_the_owner_of_a_directory_only_it_can_write_is_served()
    {
        // The systemd layout: RuntimeDirectory owned by the runtime's own user, 0750.
        using var directory = TempDirectory.Create(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, owner: Nobody);
        await using var runtime = await PeerListener.StartAsync(directory.File("runtime.sock"), asNobody: true);
        await using var client = NewClient(runtime.Path);

        Assert.True((await client.HealthCheckAsync(TimeSpan.FromSeconds(5))).Healthy);
    }

    private const UnixFileMode AllAccess = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    private static RuntimeClient NewClient(string path, params uint[] allowed)
    {
        var options = new RuntimeClientOptions { SocketPath = path, UseTcp = false, PoolSize = 1, ReconnectDelay = TimeSpan.Zero };
        foreach (var uid in allowed)
        {
            options.AllowedPeerUids.Add(uid);
        }

        return new RuntimeClient(options);
    }

    private sealed class TempDirectory : IDisposable
    {
        private TempDirectory(string path)
        {
            Path = path;
        }

        public string Path { get; }

        public static TempDirectory Create(UnixFileMode mode, uint? owner = null, uint? group = null)
        {
            var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"wpc-{Guid.NewGuid():N}"[..12]);
            Directory.CreateDirectory(path);
            if (owner is not null || group is not null)
            {
                var spec = (owner?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty)
                    + (group is { } g ? ":" + g.ToString(System.Globalization.CultureInfo.InvariantCulture) : string.Empty);
                Run("chown", spec, path);
            }

            System.IO.File.SetUnixFileMode(path, mode);
            return new TempDirectory(path);
        }

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public void Dispose() => Directory.Delete(Path, recursive: true);

        private static void Run(string command, params string[] arguments)
        {
            using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{command} {string.Join(' ', arguments)}: {process.StandardError.ReadToEnd()}");
        }
    }

    /// <summary>A real listener process on a Unix socket that answers every frame with a healthy HealthResponse.</summary>
    private sealed class PeerListener : IAsyncDisposable
    {
        private const string Script = """
            import socket, sys
            path, answer = sys.argv[1], bytes.fromhex(sys.argv[2])
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            server.listen(8)
            print("ready", flush=True)
            while True:
                conn, _ = server.accept()
                print("accepted", flush=True)
                received = 0
                try:
                    while True:
                        header = conn.recv(5, socket.MSG_WAITALL)
                        received += len(header)
                        if len(header) < 5:
                            break
                        body = int.from_bytes(header[:4], "big") - 1
                        if body > 0:
                            received += len(conn.recv(body, socket.MSG_WAITALL))
                        conn.sendall(answer)
                except OSError:
                    pass
                finally:
                    conn.close()
                print(f"closed {received}", flush=True)
            """;

        private readonly Process _process;
        private int _accepted;
        private int _closed;
        private long _received;

        private PeerListener(Process process, string path)
        {
            _process = process;
            Path = path;
        }

        public string Path { get; }

        public int ProcessId => _process.Id;

        public int Accepted => Volatile.Read(ref _accepted);

        public long BytesReceived => Interlocked.Read(ref _received);

        public static async Task<PeerListener> StartAsync(string path, bool asNobody)
        {
            var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true };
            if (asNobody)
            {
                start.FileName = "setpriv";
                foreach (var argument in new[] { "--reuid=65534", "--regid=65534", "--clear-groups" })
                {
                    start.ArgumentList.Add(argument);
                }

                start.ArgumentList.Add("/usr/bin/python3");
            }
            else
            {
                start.FileName = "/usr/bin/python3";
            }

            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(Script);
            start.ArgumentList.Add(path);
            start.ArgumentList.Add(Convert.ToHexString(HealthyAnswer()));
            var process = Process.Start(start)!;
            var listener = new PeerListener(process, path);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                switch (e.Data)
                {
                    case "ready":
                        ready.TrySetResult();
                        break;
                    case "accepted":
                        Interlocked.Increment(ref listener._accepted);
                        break;
                    case { } line when line.StartsWith("closed ", StringComparison.Ordinal):
                        Interlocked.Add(ref listener._received, long.Parse(line[7..], System.Globalization.CultureInfo.InvariantCulture));
                        Interlocked.Increment(ref listener._closed);
                        break;
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await ready.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (TimeoutException)
            {
                await listener.DisposeAsync();
                throw new InvalidOperationException($"The listener on {path} did not start (exit code {(process.HasExited ? process.ExitCode : null)}).");
            }

            return listener;
        }

        public async Task WaitForClosedConnectionsAsync(int count)
        {
            var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
            while (Volatile.Read(ref _closed) < count)
            {
                Assert.True(DateTime.UtcNow < until, $"the listener saw {Volatile.Read(ref _closed)} closed connections, expected {count}");
                await Task.Delay(10);
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }

        private static byte[] HealthyAnswer()
        {
            using var buffer = new MemoryStream();
            using var writer = new FrameWriter(buffer);
            writer.WriteAsync(MessageType.HealthResponse, new HealthCheckResponseMessage(true, "ok", 0, 1), IpcSerializer.Write, CancellationToken.None)
                .AsTask().GetAwaiter().GetResult();
            return buffer.ToArray();
        }
    }
}
