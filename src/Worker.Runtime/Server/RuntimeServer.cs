using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Connector.Client;
using Worker.Runtime.Configuration;
using Worker.Runtime.Diagnostics;
using Worker.Runtime.Http;

namespace Worker.Runtime.Server;

/// <summary>
/// The connector runtime: listens on a Unix socket and/or TCP loopback and executes the requests of every client
/// that connects. Usable on its own (tests, tools) or through <c>AddConnectorRuntime</c> in a host.
/// Start once; stop drains requests in flight for up to <c>Runtime:DrainTimeout</c>.
/// </summary>
public sealed class RuntimeServer : IAsyncDisposable
{
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    private readonly RuntimeServerOptions _options;
    private readonly ListenAddresses _addresses;
    private readonly ILogger _logger;
    private readonly HttpClient _httpClient;
    private readonly RuntimeMetrics _metrics;
    private readonly ServerLifetime _lifetime = new();
    private readonly CreditGate _credits;
    private readonly ConnectionServices _services;
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly CancellationTokenSource _accepting = new();
    private readonly List<ConnectionListener> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly Lock _stateLock = new();
    private long _lastConnectionId;
    private long _refusedInBurst;
    private Task? _start;
    private Task? _stop;
    private bool _boundUnix;

    public RuntimeServer(RuntimeServerOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(options, loggerFactory, meterFactory, environment: null, timeProvider: null)
    {
    }

    internal RuntimeServer(
        RuntimeServerOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory, Func<string, string?>? environment, TimeProvider? timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        var validation = new RuntimeServerOptionsValidator(environment).Validate(Options.DefaultName, options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(RuntimeServerOptions), validation.Failures);
        }

        _options = options;
        _addresses = ListenAddresses.Resolve(options, environment);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Worker.Runtime");
        _metrics = new RuntimeMetrics(meterFactory);
        _credits = new CreditGate(options.MaxInFlight);
        _httpClient = UpstreamHttpClientFactory.Create(options);
        var allowlist = HostAllowlist.Create(options.AllowedHosts);
        var catalog = new ConnectorCatalog([new HttpRequestOperation(_httpClient, allowlist, options.MaxResponseBytes, _logger)]);
        var time = timeProvider ?? TimeProvider.System;
        var executor = new RequestExecutor(catalog, _lifetime, _metrics, _logger, time, options.UpstreamTimeout);
        _services = new ConnectionServices(executor, _credits, _lifetime, _metrics, _logger, time, options.SendCreditUpdates, ConnectionLimits.From(options));
        Local = new LocalRuntime(_services);
        if (allowlist.AllowsAnyHost)
        {
            RuntimeLog.AnyHostAllowed(_logger);
        }
    }

    /// <summary>
    /// This runtime for a client in the same process (<c>RuntimeClient</c>'s <c>local</c>): calls instead of frames,
    /// under the same credits, deadlines and drain; <see cref="StopAsync"/> drains it with the connections.
    /// </summary>
    public ILocalRuntime Local { get; }

    /// <summary>The Unix socket path served, or null when <c>Runtime:ListenUnix</c> is false.</summary>
    public string? SocketPath => _addresses.SocketPath;

    /// <summary>The bound TCP endpoint once started (the real port when 0 was configured), or null without TCP.</summary>
    public IPEndPoint? TcpEndPoint { get; private set; }

    /// <summary>The bound TCP port once started, or null without TCP.</summary>
    public int? TcpPort => TcpEndPoint?.Port;

    /// <summary>Open client connections (tests watch it return to zero).</summary>
    internal int OpenConnections => _connections.Count;

    /// <summary>Bytes of answers ready but not yet written, over all connections (tests watch it).</summary>
    internal long UnsentAnswerBytes => _connections.Values.Sum(c => c.UnsentBytes);

    /// <summary>Requests holding a credit.</summary>
    internal int ActiveRequests => _credits.Active;

    /// <summary>What this server's streamed answers held and did.</summary>
    internal StreamStatistics Streams => _services.Streams;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_stateLock)
        {
            ObjectDisposedException.ThrowIf(_stop is not null, this);
            return _start ??= StartCoreAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Stops accepting, lets requests in flight finish for up to <c>Runtime:DrainTimeout</c> (or until
    /// <paramref name="cancellationToken"/> fires), answers the rest Transient "runtime shutting down", closes every
    /// connection and removes the socket file.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stateLock)
        {
            return _stop ??= StopCoreAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _httpClient.Dispose();
        _metrics.Dispose();
        _lifetime.Dispose();
        _accepting.Dispose();
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_addresses.SocketPath is { } path)
            {
                _listeners.Add(await BindUnixAsync(path, cancellationToken));
            }

            if (_addresses.TcpEndPoint is { } endPoint)
            {
                _listeners.Add(BindTcp(endPoint));
            }
        }
        catch
        {
            CloseListeners();
            throw;
        }

        // Connections must not inherit the starter's ExecutionContext: its Activity or logging scope would
        // become the parent of every request.
        using (ExecutionContext.SuppressFlow())
        {
            foreach (var listener in _listeners)
            {
                _acceptLoops.Add(Task.Run(() => listener.AcceptLoopAsync(Accept, _accepting.Token), CancellationToken.None));
            }
        }
    }

    private async Task<ConnectionListener> BindUnixAsync(string path, CancellationToken cancellationToken)
    {
        await UnixSocketFile.ClaimAsync(path, _logger, cancellationToken);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(path));
            _boundUnix = true;

            // Permissions are set between bind and listen, so no client can connect under the default mode.
            UnixSocketFile.Secure(path, _options);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        RuntimeLog.ListeningUnix(_logger, path, _options.SocketFileMode, UnixSocketFile.Describe(_options));
        return new ConnectionListener(socket, "unix", _logger);
    }

    private ConnectionListener BindTcp(IPEndPoint endPoint)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endPoint);
            socket.Listen(512);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"Cannot listen on TCP {endPoint} ({ex.SocketErrorCode}: {ex.Message}); choose another Runtime:TcpPort / VASTAR_TCP_PORT / --tcp-port."), ex);
        }

        TcpEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        if (!IPAddress.IsLoopback(endPoint.Address))
        {
            RuntimeLog.NonLoopbackBind(_logger, endPoint.Address.ToString());
        }

        RuntimeLog.ListeningTcp(_logger, TcpEndPoint.ToString());
        return new ConnectionListener(socket, "tcp", _logger);
    }

    private void Accept(Socket socket, ConnectionListener listener)
    {
        if (_lifetime.IsDraining)
        {
            socket.Dispose();
            return;
        }

        if (_connections.Count >= _options.MaxConnections)
        {
            Refuse(socket);
            return;
        }

        if (Interlocked.Exchange(ref _refusedInBurst, 0) is var refused and > 0)
        {
            RuntimeLog.AcceptingAgain(_logger, refused);
        }

        if (socket.AddressFamily != AddressFamily.Unix)
        {
            // Frames are small and latency matters more than packet count.
            socket.NoDelay = true;
        }

        var id = Interlocked.Increment(ref _lastConnectionId);
        var connection = new ClientConnection(id, socket, listener.Name, _services, Closed);
        _connections[id] = connection;
        _metrics.ConnectionOpened();
        RuntimeLog.ConnectionOpened(_logger, id, listener.Name);
        connection.Start();
    }

    /// <summary>
    /// Over <c>Runtime:MaxConnections</c>: the connection is closed at once, before anything is read or allocated
    /// for it. Logged once per burst (a flood must not flood the log too), counted every time.
    /// </summary>
    private void Refuse(Socket socket)
    {
        socket.Dispose();
        _metrics.ConnectionRejected();
        if (Interlocked.Increment(ref _refusedInBurst) == 1)
        {
            RuntimeLog.RefusingConnections(_logger, _options.MaxConnections);
        }
    }

    private void Closed(ClientConnection connection)
    {
        if (_connections.TryRemove(connection.Id, out _))
        {
            _metrics.ConnectionClosed();
            RuntimeLog.ConnectionClosed(_logger, connection.Id);
        }
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        Task? start;
        lock (_stateLock)
        {
            start = _start;
        }

        if (start is null)
        {
            return;
        }

        try
        {
            await start;
        }
        catch (Exception)
        {
            // Never started: nothing to drain. The start failure was reported to whoever started it.
            return;
        }

        await _lifetime.BeginDrainAsync();
        await _accepting.CancelAsync();
        CloseListeners();
        await Task.WhenAll(_acceptLoops);

        RuntimeLog.Draining(_logger, _credits.Active, _options.DrainTimeout.TotalSeconds);
        using (var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            drain.CancelAfter(_options.DrainTimeout);
            try
            {
                await _credits.WaitIdleAsync(drain.Token);
            }
            catch (OperationCanceledException)
            {
                RuntimeLog.DrainTimedOut(_logger, _credits.Active);
                await _lifetime.AbortAsync();
                try
                {
                    // Cancelled requests answer at once; the bound only guards against an operation that ignores it.
                    await _credits.WaitIdleAsync(CancellationToken.None).WaitAsync(AbortGrace, CancellationToken.None);
                }
                catch (TimeoutException)
                {
                    // Close regardless; those clients see the connection drop.
                }
            }
        }

        await Task.WhenAll(_connections.Values.Select(c => c.CloseAsync()));
        RuntimeLog.Stopped(_logger);
    }

    private void CloseListeners()
    {
        foreach (var listener in _listeners)
        {
            listener.Dispose();
        }

        // Disposing the bound socket unlinks the file too; removing it here also covers a failed start after bind.
        if (_boundUnix && _addresses.SocketPath is { } path)
        {
            UnixSocketFile.Remove(path);
        }
    }
}
