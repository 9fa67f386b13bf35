using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Worker.Runtime.Server;
using Worker.Runtime.Tests.Support;

namespace Worker.Runtime.Tests;

/// <summary>The socket file: permissions, stale files, a live runtime already on the path.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SocketFileTests
{
    [Fact]
    public async Task Socket_file_is_0660_by_default_and_removed_on_stop()
    {
        var server = await TestRuntime.StartAsync();
        var path = server.SocketPath!;

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(path));
        await server.DisposeAsync();
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task Socket_file_mode_and_group_options_apply()
    {
        // Our own effective group: giving the file to it needs no privilege. Once by id, once by name.
        var gid = EffectiveGroupId();
        await using var byId = await TestRuntime.StartAsync(o =>
        {
            o.SocketFileMode = "600";
            o.SocketGroup = gid.ToString(System.Globalization.CultureInfo.InvariantCulture);
        });
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(byId.SocketPath!));

        var name = GroupName(gid);
        Assert.NotNull(name);
        await using var byName = await TestRuntime.StartAsync(o => o.SocketGroup = name);
        Assert.True(File.Exists(byName.SocketPath));
    }

    [Fact]
    public async Task A_group_name_is_resolved_from_etc_group_and_given_to_the_socket_file()
    {
        // Tests run as root, who may give a file to any group; nogroup is 65534 on Debian.
        Assert.True(GroupFile.TryGetId("nogroup", out var expected));
        await using var server = await TestRuntime.StartAsync(o => o.SocketGroup = "nogroup");

        Assert.Equal(expected.ToString(System.Globalization.CultureInfo.InvariantCulture), await FileGroupIdAsync(server.SocketPath!));
    }

    [Fact]
    public void Group_file_lines_are_parsed_by_name_only_and_need_a_numeric_id()
    {
        var path = Path.Combine(Path.GetTempPath(), $"wrt-group-{Guid.NewGuid():N}");
        File.WriteAllLines(path, ["root:x:0:", "sock:x:4242:alice,bob", "broken:x:notanumber:", "# comment", "short:x", "sockets:x:7:"]);
        try
        {
            Assert.True(GroupFile.TryGetId("sock", out var gid, path));
            Assert.Equal(4242U, gid);
            Assert.True(GroupFile.TryGetId("sockets", out gid, path));
            Assert.Equal(7U, gid);
            Assert.False(GroupFile.TryGetId("broken", out _, path));
            Assert.False(GroupFile.TryGetId("short", out _, path));
            Assert.False(GroupFile.TryGetId("alice", out _, path));
            Assert.False(GroupFile.TryGetId("sock", out _, path + ".missing"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Unknown_group_is_a_clear_start_error()
    {
        await using var server = TestRuntime.Create(o => o.SocketGroup = "no-such-group-wrt");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync(CancellationToken.None));

        Assert.Equal("Runtime:SocketGroup 'no-such-group-wrt' is not in /etc/group; give the group's numeric id (e.g. from `getent group no-such-group-wrt`) instead.", error.Message);
        Assert.False(File.Exists(server.SocketPath));
    }

    [Fact]
    public async Task Stale_socket_file_is_removed_at_start()
    {
        var path = TestRuntime.NewSocketPath();
        CreateStaleSocket(path);
        Assert.True(File.Exists(path));
        var logs = new ListLoggerProvider();
        using var loggerFactory = ListLoggerProvider.CreateFactory(logs);

        await using var server = await TestRuntime.StartAsync(o => o.SocketPath = path, loggerFactory);
        await using var connection = await RawConnection.ConnectAsync(path);
        await connection.SendHealthCheckAsync();

        Assert.True((await connection.ReadHealthAsync()).Healthy);
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Information && l.Text.Contains("stale", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Second_runtime_on_a_live_path_refuses_to_start()
    {
        await using var first = await TestRuntime.StartAsync();
        await using var second = TestRuntime.Create(o => o.SocketPath = first.SocketPath);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync(CancellationToken.None));

        Assert.Contains($"Another connector runtime is already listening on {first.SocketPath}", error.Message, StringComparison.Ordinal);
        await second.DisposeAsync();
        Assert.True(File.Exists(first.SocketPath));
        await using var connection = await RawConnection.ConnectAsync(first.SocketPath!);
        await connection.SendHealthCheckAsync();
        Assert.True((await connection.ReadHealthAsync()).Healthy);
    }

    [Fact]
    public async Task Regular_file_in_the_way_is_not_deleted()
    {
        var path = TestRuntime.NewSocketPath();
        await File.WriteAllTextAsync(path, "precious");
        try
        {
            await using var server = TestRuntime.Create(o => o.SocketPath = path);

            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync(CancellationToken.None));

            Assert.Contains("regular file", error.Message, StringComparison.Ordinal);
            Assert.Equal("precious", await File.ReadAllTextAsync(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Missing_directory_is_a_clear_start_error()
    {
        await using var server = TestRuntime.Create(o => o.SocketPath = "/tmp/no-such-dir-wrt/x.sock");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync(CancellationToken.None));

        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A socket file nobody listens on, as a crashed runtime leaves it (.NET unlinks on dispose, so move it away first).</summary>
    private static void CreateStaleSocket(string path)
    {
        var bound = path + ".b";
        using (var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            socket.Bind(new UnixDomainSocketEndPoint(bound));
            socket.Listen(1);
            File.Move(bound, path);
        }
    }

    private static uint EffectiveGroupId()
    {
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("Gid:", StringComparison.Ordinal));
        return uint.Parse(line.Split('\t', StringSplitOptions.RemoveEmptyEntries)[2], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string? GroupName(uint gid) =>
        File.ReadLines("/etc/group")
            .Select(l => l.Split(':'))
            .FirstOrDefault(f => f.Length > 2 && f[2] == gid.ToString(System.Globalization.CultureInfo.InvariantCulture))?[0];

    /// <summary>The file's group id as stat(1) reports it: the BCL has no API for a file's owner or group.</summary>
    private static async Task<string> FileGroupIdAsync(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true })!;
        var output = await stat.StandardOutput.ReadToEndAsync();
        await stat.WaitForExitAsync();
        return output.Trim();
    }
}
