using Microsoft.Extensions.Configuration;
using Worker.Host.Configuration;

namespace Worker.Host.Cli;

/// <summary>The same configuration the worker reads (appsettings.json, environment, extra arguments), for the CLI commands.</summary>
internal static class CliConfiguration
{
    public static IConfigurationRoot Load(IReadOnlyList<string> extraArgs) =>
        new ConfigurationBuilder()
            .SetBasePath(WorkerHostBuilder.ContentRoot())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .AddCommandLine([.. extraArgs])
            .Build();

    public static RabbitMqOptions RabbitMq(IConfiguration configuration)
    {
        var options = configuration.GetSection(RabbitMqOptions.SectionName).Get<RabbitMqOptions>() ?? new RabbitMqOptions();
        if (configuration[$"{RabbitMqOptions.SectionName}:Uri"] is null && configuration[WorkerServiceCollectionExtensions.RabbitMqUriVariable] is { Length: > 0 } uri)
        {
            options.Uri = uri;
        }

        return options;
    }
}
