using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Worker.Connector.Protocol;
using Worker.Runtime.Http;

namespace Worker.Runtime.Configuration;

/// <summary>
/// Checks <see cref="RuntimeServerOptions"/> at start. Every message names its configuration key, so a bad value
/// stops the host with a message that says what to fix.
/// </summary>
internal sealed class RuntimeServerOptionsValidator : IValidateOptions<RuntimeServerOptions>
{
    /// <summary>sockaddr_un.sun_path is 108 bytes including the terminating NUL.</summary>
    private const int MaxSocketPathBytes = 107;

    private const string Prefix = RuntimeServerOptions.SectionName + ":";
    private readonly Func<string, string?>? _environment;

    public RuntimeServerOptionsValidator()
        : this(null)
    {
    }

    internal RuntimeServerOptionsValidator(Func<string, string?>? environment)
    {
        _environment = environment;
    }

    public ValidateOptionsResult Validate(string? name, RuntimeServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.MaxInFlight is < 1 or > 1_000_000)
        {
            failures.Add($"{Prefix}MaxInFlight must be between 1 and 1000000 (got {options.MaxInFlight}).");
        }

        if (options.MaxInFlightPerConnection is < 0 or > 1_000_000)
        {
            failures.Add($"{Prefix}MaxInFlightPerConnection must be between 0 (a quarter of {Prefix}MaxInFlight) and 1000000 (got {options.MaxInFlightPerConnection}).");
        }

        if (options.MaxConnections is < 1 or > 1_000_000)
        {
            failures.Add($"{Prefix}MaxConnections must be between 1 and 1000000 (got {options.MaxConnections}).");
        }

        if (options.MaxUnsentBytesPerConnection is < FrameCodec.MaxPayloadLength + FrameCodec.HeaderSize or > 1L << 40)
        {
            failures.Add($"{Prefix}MaxUnsentBytesPerConnection must be at least one whole frame ({FrameCodec.MaxPayloadLength + FrameCodec.HeaderSize} bytes) and at most 1 TiB (got {options.MaxUnsentBytesPerConnection}).");
        }

        if (options.TcpPort is < 0 or > 65535)
        {
            failures.Add($"{Prefix}TcpPort must be between 0 and 65535 (got {options.TcpPort}).");
        }

        if (!IPAddress.TryParse(options.TcpBindAddress, out _))
        {
            failures.Add($"{Prefix}TcpBindAddress must be an IP address (got '{options.TcpBindAddress}').");
        }

        if (options.MaxResponseBytes is < 1 or > RuntimeServerOptions.MaxResponseBytesLimit)
        {
            failures.Add($"{Prefix}MaxResponseBytes must be between 1 and {RuntimeServerOptions.MaxResponseBytesLimit} so a response fits one frame (got {options.MaxResponseBytes}).");
        }

        CheckDuration(failures, "UpstreamTimeout", options.UpstreamTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(1));
        CheckDuration(failures, "PooledConnectionLifetime", options.PooledConnectionLifetime, TimeSpan.FromSeconds(1), TimeSpan.FromDays(1));
        CheckDuration(failures, "IdleTimeout", options.IdleTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromDays(7));
        CheckDuration(failures, "FrameTimeout", options.FrameTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        CheckDuration(failures, "WriteTimeout", options.WriteTimeout, TimeSpan.FromMilliseconds(1), TimeSpan.FromHours(1));
        CheckDuration(failures, "DrainTimeout", options.DrainTimeout, TimeSpan.Zero, TimeSpan.FromHours(1));

        if (!SocketFileModeParser.TryParse(options.SocketFileMode, out var mode, out var modeError))
        {
            failures.Add($"{Prefix}SocketFileMode {modeError}");
        }
        else if ((mode & UnixFileMode.OtherWrite) != 0)
        {
            failures.Add($"{Prefix}SocketFileMode '{options.SocketFileMode}' lets any local user connect (o+w); use 0660 or 0600 and {Prefix}SocketGroup.");
        }

        if (options.SocketGroup is { } group && (group.Length == 0 || group.Any(char.IsWhiteSpace)))
        {
            failures.Add($"{Prefix}SocketGroup must be a group name or numeric id (got '{group}').");
        }

        for (var i = 0; i < options.AllowedHosts.Count; i++)
        {
            if (!HostAllowlist.TryParseEntries(options.AllowedHosts[i], out var entryError))
            {
                failures.Add($"{Prefix}AllowedHosts:{i} {entryError}");
            }
        }

        var addresses = ListenAddresses.Resolve(options, _environment);
        if (addresses.SocketPath is null && addresses.TcpEndPoint is null)
        {
            failures.Add($"{Prefix}ListenUnix is false and {Prefix}UseTcp (or VASTAR_USE_TCP) is not true: there is nothing to listen on.");
        }

        if (addresses.SocketPath is { } path && Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes)
        {
            failures.Add($"{Prefix}SocketPath '{path}' is longer than {MaxSocketPathBytes} bytes, the Unix socket path limit.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckDuration(List<string> failures, string key, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"{Prefix}{key} must be between {min} and {max} (got {value})."));
        }
    }
}
