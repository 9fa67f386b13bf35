using Microsoft.Extensions.Hosting;

namespace Worker.Host;

/// <summary>Builds the worker's Generic Host: appsettings.json (repository root or next to the binary), environment, command line.</summary>
public static class WorkerHostBuilder
{
    public static HostApplicationBuilder Create(string[] args)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = args,
            ContentRootPath = ContentRoot(),
        });
        builder.Services.AddSystemd();
        builder.Services.AddWorker(builder.Configuration);
        return builder;
    }

    /// <summary>The working directory when it holds appsettings.json (dotnet run from the repo), else the binary's folder.</summary>
    public static string ContentRoot() =>
        File.Exists(Path.Combine(Environment.CurrentDirectory, "appsettings.json")) ? Environment.CurrentDirectory : AppContext.BaseDirectory;
}
