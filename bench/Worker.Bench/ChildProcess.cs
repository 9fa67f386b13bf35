using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;

namespace Worker.Bench;

/// <summary>
/// A child process (simulator, runtime daemon, worker) started with <c>dotnet &lt;dll&gt;</c>, its output in a log
/// file. Stopped with SIGTERM (graceful), then killed after a grace period. Reads its CPU time and memory from /proc.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _pumps;

    private ChildProcess(Process process, StreamWriter log, string name)
    {
        _process = process;
        _log = log;
        Name = name;
        _pumps = Task.WhenAll(Pump(process.StandardOutput), Pump(process.StandardError));
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string name, string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string?> env, string logPath, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The bench's own knobs and an OpenAI key must not leak into the children.
        info.Environment.Remove("OPENAI_API_KEY");
        info.Environment.Remove("USE_SIMULATOR");
        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var log = new StreamWriter(logPath, append: false) { AutoFlush = true };
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {name}");
        var child = new ChildProcess(process, log, name);
        CpuAccounting.Track(child);
        return child;
    }

    private async Task Pump(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (_log)
            {
                _log.WriteLine(line);
            }
        }
    }

    /// <summary>Waits until a TCP port accepts connections (or the process dies).</summary>
    public async Task WaitForTcpAsync(int port, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>Waits until a Unix socket accepts connections (or the process dies).</summary>
    public async Task WaitForUnixSocketAsync(string path, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            ThrowIfExited();
            try
            {
                using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path));
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }
        }
    }

    public void ThrowIfExited()
    {
        if (_process.HasExited)
        {
            throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}; see its log");
        }
    }

    /// <summary>User + system CPU time of the process so far, in seconds (from /proc/&lt;pid&gt;/stat).</summary>
    public double CpuSeconds() => ProcStat.CpuSeconds(Pid);

    /// <summary>A field of /proc/&lt;pid&gt;/status in KiB (VmRSS, VmHWM, ...).</summary>
    public long StatusKiB(string field) => ProcStat.StatusKiB(Pid, field);

    public async ValueTask DisposeAsync()
    {
        CpuAccounting.Untrack(this);
        if (!_process.HasExited)
        {
            // SIGTERM: the hosts stop gracefully (drain, close connections, remove the socket file).
            _ = ProcStat.Kill(_process.Id, 15);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }

        await _pumps;
        _log.Dispose();
        _process.Dispose();
    }
}

/// <summary>/proc readers (Linux only, like the rest of the stack).</summary>
public static partial class ProcStat
{
    private static readonly double TicksPerSecond = 100.0; // USER_HZ on Linux

    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");

        // Fields after the ")" of the command name: state is field 3, utime 14, stime 15.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (utime + stime) / TicksPerSecond;
    }

    public static long StatusKiB(int pid, string field)
    {
        foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                var value = line[(field.Length + 1)..].Trim();
                return long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    public static double SelfCpuSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime.TotalSeconds;
    }

    public static int Kill(int pid, int signal) => NativeKill(pid, signal);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int NativeKill(int pid, int sig);
}
