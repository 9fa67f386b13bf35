using Microsoft.Extensions.Configuration.Memory;
using Worker.Simulator.Http;
using Worker.Simulator.Options;

namespace Worker.Simulator.Hosting;

/// <summary>Builds the simulator's web application, as an executable or embedded.</summary>
internal static class SimulatorApplication
{
    public const string DefaultUrl = "http://127.0.0.1:4545";

    /// <summary>
    /// Defaults that configuration may override: per-request logs of ASP.NET Core cost more than a simulated answer,
    /// so they are at Warning unless asked for.
    /// </summary>
    private static readonly Dictionary<string, string?> ConfigurationDefaults = new()
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    /// <summary>The executable: appsettings, environment (<c>Simulator__Faults__Rate</c>) and command line.</summary>
    public static WebApplication CreateFromArgs(string[] args)
    {
        var builder = WebApplication.CreateSlimBuilder(args);

        // Inserted first so that every other source overrides them.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = ConfigurationDefaults });

        if (!HasConfiguredEndpoint(builder.Configuration))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        ConfigureKestrel(builder);
        builder.Services.AddSimulator(builder.Configuration);
        return Build(builder);
    }

    /// <summary>
    /// Embedded (tests, other projects): options only from <paramref name="options"/>, no configuration files or
    /// environment, no log output.
    /// </summary>
    public static WebApplication CreateEmbedded(SimulatorOptions options, string url)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(SimulatorApplication).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseKestrelCore().UseUrls(url);
        ConfigureKestrel(builder);

        // A hanging request aborts itself on shutdown; this only bounds long simulated latencies.
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        builder.Services.AddSimulator(configuration: null, options.CopyTo);
        return Build(builder);
    }

    private static void ConfigureKestrel(WebApplicationBuilder builder) =>
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);

    private static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();

        // Also on answers no endpoint gives (unknown routes: 404, wrong method: 405).
        app.Use((context, next) =>
        {
            RequestIds.Ensure(context);
            return next(context);
        });
        app.MapSimulatorEndpoints();
        return app;
    }

    private static bool HasConfiguredEndpoint(IConfiguration configuration) =>
        !string.IsNullOrEmpty(configuration["urls"])
        || !string.IsNullOrEmpty(configuration["http_ports"])
        || !string.IsNullOrEmpty(configuration["https_ports"])
        || configuration.GetSection("Kestrel:Endpoints").Exists();
}
