using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using Worker.Connector.Security;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Intake;

namespace Worker.Host.Resilience;

/// <summary>Registers the worker's three named pipelines; Polly's telemetry (logs and the <c>Polly</c> meter) comes with them.</summary>
public static partial class ResiliencePipelineRegistration
{
    public static IServiceCollection AddWorkerResiliencePipelines(this IServiceCollection services)
    {
        // One LLM pipeline per endpoint, so each has its own breaker: one provider's outage opens only its circuit.
        services.AddResiliencePipelines<string>(pipelines =>
        {
            var llm = pipelines.ServiceProvider.GetRequiredService<IOptions<LlmHostOptions>>().Value;
            foreach (var endpoint in llm.EndpointNames())
            {
                pipelines.AddResiliencePipeline(PipelineNames.ForEndpoint(endpoint), (builder, context) =>
                {
                    builder.InstanceName = endpoint;
                    var options = context.ServiceProvider.GetRequiredService<IOptions<ResilienceOptions>>().Value;
                    var intake = context.ServiceProvider.GetRequiredService<IntakeController>();
                    var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Worker.Host.Resilience.Llm");
                    LlmPipeline.Configure(
                        builder,
                        options,
                        reason => intake.ReportEndpointDown(endpoint, reason),
                        args => LogLlmRetry(logger, endpoint, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, SafeText.Escape(SecretRedactor.Redact(args.Outcome.Exception?.Message ?? "", null))),
                        () => intake.ReportEndpointUp(endpoint));
                });
            }
        });

        services.AddResiliencePipeline(PipelineNames.Publish, (builder, context) =>
        {
            var rabbit = context.ServiceProvider.GetRequiredService<IOptions<RabbitMqOptions>>().Value;
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Worker.Host.Resilience.Publish");

            // Rides out connection recovery for up to twice the publish timeout; each attempt has its own timeout token.
            builder.AddTimeout(new TimeoutStrategyOptions { Timeout = rabbit.PublishTimeout * 2 })
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(BrokerFailures.IsTransient),
                    MaxRetryAttempts = int.MaxValue,
                    BackoffType = DelayBackoffType.Exponential,
                    Delay = TimeSpan.FromMilliseconds(200),
                    MaxDelay = TimeSpan.FromSeconds(2),
                    OnRetry = args =>
                    {
                        LogPublishRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "");
                        return ValueTask.CompletedTask;
                    },
                });
        });

        services.AddResiliencePipeline(PipelineNames.Broker, (builder, context) =>
        {
            var logger = context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger("Worker.Host.Resilience.Broker");

            // Connecting and starting the consumer: a broker still starting, a quorum queue without a leader yet.
            // About five minutes in all, then the failure ends the worker (and its supervisor restarts it).
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(BrokerFailures.IsTransient),
                MaxRetryAttempts = 60,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(250),
                MaxDelay = TimeSpan.FromSeconds(5),
                OnRetry = args =>
                {
                    LogBrokerRetry(logger, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.InnerException?.Message ?? args.Outcome.Exception?.Message ?? "");
                    return ValueTask.CompletedTask;
                },
            });
        });
        return services;
    }

    [LoggerMessage(EventId = 120, Level = LogLevel.Information, Message = "LLM attempt {Attempt} to endpoint {Endpoint} failed; retrying in {DelayMs:0} ms: {Reason}")]
    private static partial void LogLlmRetry(ILogger logger, string endpoint, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 302, Level = LogLevel.Warning, Message = "Publish attempt {Attempt} failed; retrying in {DelayMs:0} ms: {Reason}")]
    private static partial void LogPublishRetry(ILogger logger, int attempt, double delayMs, string reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Broker not ready (attempt {Attempt}; retry in {DelayMs:0} ms): {Reason}")]
    private static partial void LogBrokerRetry(ILogger logger, int attempt, double delayMs, string reason);
}
