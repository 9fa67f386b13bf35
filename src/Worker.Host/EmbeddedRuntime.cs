using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Runtime.Configuration;
using Worker.Runtime.Server;

namespace Worker.Host;

internal static class EmbeddedRuntime
{
    /// <summary>
    /// Our connector runtime as a hosted service in this process. It binds the same <c>Runtime</c> section as the
    /// client (SocketPath, UseTcp, TcpPort), so both ends meet on one socket. The worker's own calls skip that socket
    /// (<c>Runtime:InProcess</c>, default true): the same runtime code runs them, without frames and two read loops per
    /// call; other clients and the health check use the socket. Unless <c>Runtime:AllowedHosts</c> says otherwise, the embedded
    /// runtime may only call the configured LLM endpoint's host and port (the scheme's default port when the URL names
    /// none), so the worker's socket is not an open proxy.
    /// </summary>
    public static IServiceCollection AddEmbeddedRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddConnectorRuntime(configuration);
        if (configuration.GetValue($"{RuntimeHostOptions.SectionName}:{nameof(RuntimeHostOptions.InProcess)}", true))
        {
            // The runtime client then calls the runtime without the socket (see ILocalRuntime).
            services.TryAddSingleton(static sp => sp.GetRequiredService<RuntimeServer>().Local);
        }

        services.AddOptions<RuntimeServerOptions>().PostConfigure<IOptions<OpenAiOptions>, IOptions<LlmHostOptions>>((runtime, llm, host) =>
        {
            if (runtime.AllowedHosts.Count == 0)
            {
                foreach (var entry in AllowedHosts(llm.Value, host.Value))
                {
                    runtime.AllowedHosts.Add(entry);
                }
            }
        });
        return services;
    }

    /// <summary>
    /// The allowlist derived from configuration: the host and port of the default endpoint and of every named one,
    /// each once. Host and port, the scheme's default port included: a bare host would allow every port of it.
    /// </summary>
    public static IReadOnlyList<string> AllowedHosts(OpenAiOptions llm, LlmHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(llm);
        ArgumentNullException.ThrowIfNull(host);
        var urls = new[] { llm.BaseUrl }.Concat(host.Endpoints.Values.Select(e => e.BaseUrl));
        return [.. urls
            .Select(url => Uri.TryCreate(url, UriKind.Absolute, out var endpoint) ? AllowedHostEntry.For(endpoint) : null)
            .OfType<string>()
            .Distinct(StringComparer.OrdinalIgnoreCase)];
    }
}
