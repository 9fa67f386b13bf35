using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Connector.OpenAi;
using Worker.Runtime.Configuration;

namespace Worker.Host;

internal static class EmbeddedRuntime
{
    /// <summary>
    /// Our connector runtime as a hosted service in this process. It binds the same <c>Runtime</c> section as the
    /// client (SocketPath, UseTcp, TcpPort), so both ends meet on one socket; the client still talks to it over that
    /// socket, exactly as to an external runtime. Unless <c>Runtime:AllowedHosts</c> says otherwise, the embedded
    /// runtime may only call the configured LLM endpoint's host and port (the scheme's default port when the URL names
    /// none), so the worker's socket is not an open proxy.
    /// </summary>
    public static IServiceCollection AddEmbeddedRuntime(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddConnectorRuntime(configuration);
        services.AddOptions<RuntimeServerOptions>().PostConfigure<IOptions<OpenAiOptions>>((runtime, llm) =>
        {
            if (runtime.AllowedHosts.Count == 0 && Uri.TryCreate(llm.Value.BaseUrl, UriKind.Absolute, out var endpoint))
            {
                // Host and port, the scheme's default port included: a bare host would allow every port of it.
                runtime.AllowedHosts.Add(AllowedHostEntry.For(endpoint));
            }
        });
        return services;
    }
}
