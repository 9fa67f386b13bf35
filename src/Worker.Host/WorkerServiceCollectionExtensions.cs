using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Worker.Connector;
using Worker.Connector.Client;
using Worker.Connector.OpenAi;
using Worker.Host.Cancelling;
using Worker.Host.Configuration;
using Worker.Host.Consuming;
using Worker.Host.Contracts;
using Worker.Host.Endpoints;
using Worker.Host.Handling;
using Worker.Host.Health;
using Worker.Host.Intake;
using Worker.Host.Processing;
using Worker.Host.Publishing;
using Worker.Host.Resilience;
using Worker.Host.Streaming;
using Worker.Host.Telemetry;

namespace Worker.Host;

public static class WorkerServiceCollectionExtensions
{
    public const string RabbitMqUriVariable = "RABBITMQ_URI";

    /// <summary>
    /// The whole worker: options (validated at start), the runtime client and, unless <c>Runtime:Embedded=false</c>,
    /// our runtime in-process; processing, publishing, the consumer, telemetry.
    /// </summary>
    public static IServiceCollection AddWorker(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddWorkerOptions(configuration);
        if (configuration.GetValue($"{RuntimeHostOptions.SectionName}:{nameof(RuntimeHostOptions.Embedded)}", true))
        {
            // Registered before the consumer: hosted services start in order, so the socket is up first.
            services.AddEmbeddedRuntime(configuration);
        }

        services.AddWorkerTelemetry(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddWorkerResiliencePipelines();

        // Polly logs every handled attempt at Warning, with the exception: our own OnRetry line says the same in one
        // line. Its metrics stay on; "Logging:LogLevel:Polly" in configuration overrides this.
        services.AddLogging(logging => logging.AddFilter("Polly", LogLevel.Error));

        // A job's path, in order: source → intake → handler (parser, processor) → settlement (publisher).
        services.AddSingleton<BrokerTelemetry>();
        services.AddSingleton<RabbitMqConnectionProvider>();
        services.AddSingleton<TopologyDeclarer>();
        services.AddSingleton<IOutageProbe, OutageProbe>();
        services.AddSingleton<IntakeController>();
        services.AddSingleton<JobAdmission>();
        services.AddSingleton(sp => JobParserFor(sp.GetRequiredService<IOptions<WorkerOptions>>().Value, sp.GetRequiredService<IOptions<ParameterPolicyOptions>>().Value));
        services.AddSingleton<IChatCompletionClient>(sp => sp.GetRequiredService<OpenAiChatClient>());
        // The default endpoint (Llm:BaseUrl) and the named ones (Llm:Endpoints), one client each over the shared runtime client.
        services.AddSingleton(sp => new ChatEndpoints(sp.GetRequiredService<IChatCompletionClient>(), sp.GetRequiredService<RuntimeClient>(), sp.GetRequiredService<IOptions<LlmHostOptions>>()));
        services.AddSingleton<ResultBuilder>();
        services.AddSingleton<JobProcessor>();
        services.AddSingleton<JobHandler>();
        services.AddSingleton<ResultPublisher>();
        services.AddSingleton<IDeltaPublisher>(sp => sp.GetRequiredService<ResultPublisher>());

        // Cancel by id: the control queue's consumer hands requests to the ledger the handler consults. Started
        // before the job source, so cancels are heard before jobs flow.
        services.AddSingleton(sp => new CancelLedger(sp.GetRequiredService<IOptions<WorkerOptions>>().Value.CancelMemory, sp.GetRequiredService<IOptions<WorkerOptions>>().Value.DefaultJobTtl));
        services.AddSingleton<CancelConsumer>();
        services.AddHostedService(sp => sp.GetRequiredService<CancelConsumer>());
        services.AddSingleton<RabbitMqJobSource>();
        services.AddHostedService(sp => sp.GetRequiredService<RabbitMqJobSource>());

        // After the consumer: the health port opens once the worker is starting to consume.
        services.AddWorkerHealth(configuration);
        services.AddOptions<HostOptions>().Configure<IOptions<WorkerOptions>>((host, worker) =>
            host.ShutdownTimeout = worker.Value.DrainTimeout + TimeSpan.FromSeconds(15));
        return services;
    }

    /// <summary>The job parser with the configured limits and parameter policy.</summary>
    public static JobParser JobParserFor(WorkerOptions worker, ParameterPolicyOptions parameters)
    {
        ArgumentNullException.ThrowIfNull(worker);
        ArgumentNullException.ThrowIfNull(parameters);
        return new JobParser(worker.MaxJobBytes, worker.DefaultTenant, worker.DefaultStream, parameters.ToPolicy());
    }

    /// <summary>Options and the connector client only (the CLI commands use these without the consumer).</summary>
    public static IServiceCollection AddWorkerOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddValidatedSection<WorkerOptions>(configuration, WorkerOptions.SectionName);
        services.AddValidatedSection<RabbitMqOptions>(configuration, RabbitMqOptions.SectionName)
            .PostConfigure(rabbit =>
            {
                // RABBITMQ_URI (used by the demo, tests and compose) when RabbitMq:Uri is not set explicitly.
                if (configuration[$"{RabbitMqOptions.SectionName}:Uri"] is null && configuration[RabbitMqUriVariable] is { Length: > 0 } uri)
                {
                    rabbit.Uri = uri;
                }
            });
        services.AddValidatedSection<ResilienceOptions>(configuration, ResilienceOptions.SectionName);
        services.AddValidatedSection<LlmHostOptions>(configuration, LlmHostOptions.SectionName);
        services.AddValidatedSection<ParameterPolicyOptions>(configuration, ParameterPolicyOptions.SectionName);
        services.AddValidatedSection<LimitsOptions>(configuration, LimitsOptions.SectionName);
        services.AddOptions<RuntimeHostOptions>().Bind(configuration.GetSection(RuntimeHostOptions.SectionName));
        services.AddConnectorClient(configuration);
        services.AddOptions<OpenAiOptions>().PostConfigure<IOptions<LlmHostOptions>>((llm, host) =>
        {
            // The seed's switch: USE_SIMULATOR=true (or Llm:UseSimulator) points at the simulator.
            if (host.Value.UseSimulator || string.Equals(configuration[LlmHostOptions.UseSimulatorVariable], "true", StringComparison.OrdinalIgnoreCase))
            {
                llm.BaseUrl = host.Value.SimulatorUrl;
            }
        });
        return services;
    }
}
