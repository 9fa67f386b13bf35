using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Worker.Runtime.Hosting;

/// <summary>
/// Serves <c>/healthz</c> (checks tagged <see cref="HealthTags.Live"/>) and <c>/readyz</c> (tagged
/// <see cref="HealthTags.Ready"/>) over HTTP with <see cref="HttpListener"/>: 200 when every check is healthy
/// (or degraded), 503 otherwise, with a small JSON body naming each check and why. HttpListener rather than Kestrel:
/// the worker and the runtime are console hosts on the plain .NET runtime image, and two GET paths do not justify
/// the ASP.NET Core shared framework (a bigger image and ~10 MiB more per process). Used by the standalone runtime
/// and by the worker, which adds its checks and the Prometheus exporter on the same port.
/// </summary>
public sealed partial class HealthEndpointServer : BackgroundService
{
    private readonly HealthCheckService _checks;
    private readonly HealthEndpointAddress _address;
    private readonly ILogger<HealthEndpointServer> _logger;
    private readonly HttpListener _listener = new();

    public HealthEndpointServer(HealthCheckService checks, HealthEndpointAddress address, ILogger<HealthEndpointServer> logger)
    {
        ArgumentNullException.ThrowIfNull(address);
        _checks = checks;
        _address = address;
        _logger = logger;
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Started here, not in ExecuteAsync, so a port already in use stops the host at start, naming the URL.
        _listener.Prefixes.Add(_address.Prefix + "healthz/");
        _listener.Prefixes.Add(_address.Prefix + "readyz/");
        try
        {
            _listener.Start();
        }
        catch (HttpListenerException ex)
        {
            throw new InvalidOperationException($"{_address.Key}: cannot listen on {_address.Url}: {ex.Message}", ex);
        }

        LogListening(_logger, _address.Url);
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var registration = stoppingToken.Register(static l => ((HttpListener)l!).Stop(), _listener);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
            {
                break;
            }

            // One request at a time is plenty for probes and keeps a flood of them from running checks in parallel.
            await RespondAsync(context, stoppingToken);
        }
    }

    private async Task RespondAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            var path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? "";
            var tag = path switch
            {
                "/healthz" => HealthTags.Live,
                "/readyz" => HealthTags.Ready,
                _ => null,
            };
            if (tag is null || context.Request.HttpMethod is not ("GET" or "HEAD"))
            {
                response.StatusCode = tag is null ? 404 : 405;
                return;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            var report = await _checks.CheckHealthAsync(check => check.Tags.Contains(tag), timeout.Token);
            response.StatusCode = report.Status == HealthStatus.Unhealthy ? 503 : 200;
            response.ContentType = "application/json; charset=utf-8";
            response.Headers["Cache-Control"] = "no-store";
            var body = Render(report);
            response.ContentLength64 = body.Length;
            if (context.Request.HttpMethod == "GET")
            {
                await response.OutputStream.WriteAsync(body, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException)
        {
            // The prober went away or we are stopping: nothing to answer.
        }
        finally
        {
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }

    /// <summary><c>{"status":"Unhealthy","checks":{"broker":{"status":"Unhealthy","description":"..."}}}</c></summary>
    public static byte[] Render(HealthReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description ?? entry.Exception?.Message ?? "");
                json.WriteEndObject();
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public override void Dispose()
    {
        ((IDisposable)_listener).Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 900, Level = LogLevel.Information, Message = "Health endpoints at {Url}/healthz and {Url}/readyz")]
    private static partial void LogListening(ILogger logger, string url);
}

/// <summary>Which checks each endpoint runs.</summary>
public static class HealthTags
{
    /// <summary><c>/healthz</c>: the process is alive and its loops run; a failure means restart it.</summary>
    public const string Live = "live";

    /// <summary><c>/readyz</c>: it is doing its work now; a failure means do not count on it (yet).</summary>
    public const string Ready = "ready";
}

/// <summary>
/// A configured health URL (<c>http://host:port</c>) as an HttpListener prefix. <c>0.0.0.0</c>, <c>::</c>, <c>*</c>
/// and <c>+</c> mean every interface; HttpListener also matches the Host header against the prefix, so a probe that
/// addresses the pod IP would miss a literal <c>0.0.0.0</c> prefix, hence the <c>+</c> wildcard.
/// </summary>
public sealed record HealthEndpointAddress(string Key, string Url, string ListenerHost, int Port)
{
    /// <summary>The HttpListener prefix, e.g. <c>http://+:8080/</c>.</summary>
    public string Prefix => $"http://{ListenerHost}:{Port}/";

    public static bool TryParse(string key, string? value, out HealthEndpointAddress? address, out string? error)
    {
        address = null;
        error = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsDefaultPort && !value.Contains(":80", StringComparison.Ordinal)
            || uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            error = $"{key}: '{value}' must be http://host:port (e.g. http://0.0.0.0:8080), without a path.";
            return false;
        }

        var host = uri.Host is "0.0.0.0" or "[::]" or "::" or "*" or "+" ? "+" : uri.Host;
        address = new HealthEndpointAddress(key, $"http://{uri.Host}:{uri.Port}", host, uri.Port);
        return true;
    }

    /// <summary>The address, or null when <paramref name="value"/> is empty; a bad value throws naming the key.</summary>
    public static HealthEndpointAddress? Parse(string key, string? value) =>
        TryParse(key, value, out var address, out var error) ? address
        : error is null ? null
        : throw new Microsoft.Extensions.Options.OptionsValidationException(key, typeof(HealthEndpointAddress), [error]);
}
