using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Polly.Registry;
using Worker.Connector;
using Worker.Connector.OpenAi;
using Worker.Host.Configuration;
using Worker.Host.Contracts;
using Worker.Host.Handling;
using Worker.Host.Intake;
using Worker.Host.Processing;
using Worker.Host.Resilience;
using Worker.Host.Telemetry;

namespace Worker.Host.Tests.Handling;

/// <summary>
/// Every row of the README's "What happens to a job" table, decided by the handler alone: no broker, no runtime. The
/// LLM endpoint is a fake <see cref="IChatCompletionClient"/>; the Polly pipeline and the intake controller are real.
/// </summary>
public sealed class JobHandlerTests : IAsyncDisposable
{
    private readonly FakeChat _chat = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-12-02T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly ServiceProvider _services;
    private readonly JobHandler _handler;

    public JobHandlerTests()
    {
        var resilience = new ResilienceOptions
        {
            MaxRetryAttempts = 3,
            BaseDelay = TimeSpan.Zero,
            MaxDelay = TimeSpan.Zero,
            MaxRetryAfter = TimeSpan.Zero,
            BreakerMinimumThroughput = 100,
            BreakerBreakDuration = TimeSpan.FromMinutes(5),
        };
        var services = new ServiceCollection()
            .AddLogging()
            .AddMetrics()
            .AddSingleton(Options.Create(resilience))
            .AddSingleton(Options.Create(new RabbitMqOptions()))
            .AddSingleton<IOutageProbe>(new NeverHealthy())
            .AddSingleton<IntakeController>()
            .AddSingleton<WorkerTelemetry>()
            .AddSingleton<AdmissionTelemetry>()
            .AddWorkerResiliencePipelines();
        _services = services.BuildServiceProvider();
        var results = new ResultBuilder(_time);
        Admission = new JobAdmission(Options.Create(Limits), Options.Create(new WorkerOptions { Concurrency = 4 }), _services.GetRequiredService<AdmissionTelemetry>(), _time);
        var processor = new JobProcessor(_chat, _services.GetRequiredService<ResiliencePipelineProvider<string>>(), Intake, Admission,
            _services.GetRequiredService<WorkerTelemetry>(), _services.GetRequiredService<AdmissionTelemetry>(), results, Options.Create(resilience), NullLogger<JobProcessor>.Instance, _time);
        _handler = new JobHandler(new JobParser(1024 * 1024, "default", defaultStream: true), processor, results,
            Options.Create(new WorkerOptions { DefaultJobTtl = TimeSpan.FromHours(24) }), NullLogger<JobHandler>.Instance, _time);
    }

    private IntakeController Intake => _services.GetRequiredService<IntakeController>();

    private JobAdmission Admission { get; }

    private static LimitsOptions Limits { get; } = CreateLimits();

    private static LimitsOptions CreateLimits()
    {
        var limits = new LimitsOptions { TokensPerMinute = 30_000, DefaultOutputTokens = 100 };
        limits.Tenants["metered"] = 1000;
        return limits;
    }

    private Task<Disposition> Handle(string json, bool redelivered = false, DateTimeOffset? enqueuedAt = null, int priorAttempts = 0) =>
        _handler.HandleAsync(new JobDelivery(Encoding.UTF8.GetBytes(json), redelivered, _time.GetTimestamp(), enqueuedAt, priorAttempts), CancellationToken.None);

    /// <summary>Handles a job while the fake clock moves on (admission waits on it), 100 ms per real millisecond.</summary>
    private async Task<Disposition> HandleWhileTimePasses(string json, int priorAttempts = 0, int stepMs = 100)
    {
        var handling = Handle(json, priorAttempts: priorAttempts);
        while (!handling.IsCompleted)
        {
            _time.Advance(TimeSpan.FromMilliseconds(stepMs));
            await Task.Delay(1);
        }

        return await handling;
    }

    [Fact]
    public async Task A_completion_is_answered_succeeded_with_its_content_and_usage()
    {
        _chat.Answer = _ => Completion("Paris.");
        var disposition = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"j1","tenant":"acme","prompt":"Capital of France?","metadata":{"k":1}}""", redelivered: true));
        var result = disposition.Result;
        Assert.Equal((JobStatus.Succeeded, "Paris.", "stop", 1, true, "acme"), (result.Status, result.Content, result.FinishReason, result.Attempts, result.Redelivered, result.Tenant));
        Assert.Equal(new TokenUsage(5, 2, 7), result.Usage);
        Assert.Equal(1, result.Metadata!.Value.GetProperty("k").GetInt32());
        Assert.Equal("gpt-test", Assert.Single(_chat.Requests).Model);
    }

    [Theory]
    [InlineData(ErrorClass.Permanent, 401)]
    [InlineData(ErrorClass.InvalidRequest, 400)]
    public async Task Refusals_from_the_endpoint_are_answered_failed_without_retry(ErrorClass errorClass, int status)
    {
        _chat.Answer = _ => throw new ConnectorException(errorClass, $"HTTP {status}") { StatusCode = status };
        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"j2","prompt":"p"}""")).Result;
        Assert.Equal((JobStatus.Failed, errorClass.ToString(), status, false, 1), (result.Status, result.Error!.Class, result.Error.StatusCode, result.Error.Retryable, result.Attempts));
        Assert.Single(_chat.Requests);
    }

    [Theory]
    [InlineData("""{"id":"j3"}""", "missing_messages")]
    [InlineData("""{"id":"j3","messages":[{"role":"wizard","content":"x"}]}""", "invalid_parameter")]
    [InlineData("""{"id":"j3","prompt":"p","params":{"temperature":3}}""", "invalid_parameter")]
    [InlineData("""{"id":"j3","prompt":"p","params":{"n":128}}""", "invalid_parameter")]
    [InlineData("""{"id":"j3","prompt":"p","params":{"max_tokens":10000000}}""", "invalid_parameter")]
    [InlineData("""{"id":"j3","prompt":"p","params":{"store":true}}""", "parameter_not_allowed")]
    public async Task Invalid_parameters_are_answered_failed_and_never_sent(string json, string reasonCode)
    {
        var result = Assert.IsType<Disposition.Answer>(await Handle(json)).Result;
        Assert.Equal(("InvalidRequest", JobStatus.Failed), (result.Error!.Class, result.Status));
        Assert.StartsWith(reasonCode, result.Error.Message, StringComparison.Ordinal);
        Assert.Empty(_chat.Requests);
    }

    [Fact]
    public async Task Retryable_errors_are_retried_and_the_result_counts_the_attempts()
    {
        _chat.Answer = n => n < 3 ? throw new ConnectorException(ErrorClass.Transient, "HTTP 502") { StatusCode = 502 } : Completion("ok");
        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"j4","prompt":"p"}""")).Result;
        Assert.Equal((JobStatus.Succeeded, 3), (result.Status, result.Attempts));
    }

    [Fact]
    public async Task A_429_never_fails_a_job_while_its_deadline_allows_and_attempts_stay_true()
    {
        // Ten 429s is more than the 3 retries any failure gets: rate limits are waited out, not counted as failures.
        _chat.Answer = n => n <= 10 ? throw new ConnectorException(ErrorClass.RateLimited, "HTTP 429") { StatusCode = 429 } : Completion("ok");
        var result = Assert.IsType<Disposition.Answer>(await HandleWhileTimePasses("""{"id":"j4b","prompt":"p"}""", priorAttempts: 2)).Result;
        Assert.Equal((JobStatus.Succeeded, 13), (result.Status, result.Attempts));
    }

    [Fact]
    public async Task A_long_rate_limit_wait_sends_the_job_to_a_delay_queue_with_its_attempts()
    {
        _chat.Answer = _ => throw new ConnectorException(ErrorClass.RateLimited, "HTTP 429") { StatusCode = 429, RetryAfter = TimeSpan.FromMinutes(2) };
        var delay = Assert.IsType<Disposition.Delay>(await HandleWhileTimePasses("""{"id":"j4c","prompt":"p"}"""));
        Assert.Equal((1, JobOutcome.Delayed), (delay.Attempts, delay.Outcome));
        Assert.InRange(delay.For, TimeSpan.FromSeconds(100), TimeSpan.FromMinutes(2));
        Assert.Contains("rate_limited", delay.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tenant_over_its_budget_is_delayed_without_a_call()
    {
        _chat.Answer = _ => Completion("ok");
        var answered = 0;
        Disposition disposition;
        while ((disposition = await HandleWhileTimePasses($$$"""{"id":"m{{{answered}}}","tenant":"metered","prompt":"p","params":{"max_tokens":100}}""", stepMs: 1)) is Disposition.Answer)
        {
            answered++;
        }

        // About 100 tokens a job against 1,000 a minute; the usage each answer reports (7) gives most of it back, so
        // more than ten fit before the bucket runs dry.
        var delay = Assert.IsType<Disposition.Delay>(disposition);
        Assert.InRange(answered, 10, 200);
        Assert.Equal(answered, _chat.Requests.Count);
        Assert.StartsWith("tenant_budget", delay.Reason, StringComparison.Ordinal);
        Assert.IsType<Disposition.Answer>(await Handle("""{"id":"free","tenant":"acme","prompt":"p"}"""));
    }

    [Fact]
    public async Task A_job_larger_than_the_endpoints_token_limit_fails_without_a_call()
    {
        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"big","prompt":"p","params":{"max_tokens":31000}}""")).Result;
        Assert.Equal(("InvalidRequest", 0), (result.Error!.Class, result.Attempts));
        Assert.Contains("more than the endpoint allows per minute", result.Error.Message, StringComparison.Ordinal);
        Assert.Empty(_chat.Requests);
    }

    [Fact]
    public async Task Retries_that_run_out_are_answered_failed_and_retryable()
    {
        _chat.Answer = _ => throw new ConnectorException(ErrorClass.Transient, "HTTP 500") { StatusCode = 500 };
        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"j5","prompt":"p"}""")).Result;
        Assert.Equal((JobStatus.Failed, "Transient", true, 4), (result.Status, result.Error!.Class, result.Error.Retryable, result.Attempts));
    }

    [Fact]
    public async Task An_unreachable_runtime_requeues_the_job_and_pauses_intake()
    {
        _chat.Answer = _ => throw new ConnectorException(ErrorClass.Transient, "runtime socket not listening") { RuntimeUnavailable = true };
        var requeue = Assert.IsType<Disposition.Requeue>(await Handle("""{"id":"j6","prompt":"p"}"""));
        Assert.Equal(JobOutcome.Requeued, requeue.Outcome);
        Assert.True(Intake.IsPaused);
        Assert.False(Intake.TryAdmit().Admitted);
        Assert.Equal(1, Intake.OutageCount);
    }

    [Fact]
    public async Task While_intake_is_paused_a_retryable_failure_requeues_instead_of_failing()
    {
        Intake.ReportOutage("test outage");
        _chat.Answer = _ => throw new ConnectorException(ErrorClass.Transient, "HTTP 503") { StatusCode = 503 };
        Assert.IsType<Disposition.Requeue>(await Handle("""{"id":"j7","prompt":"p"}"""));
    }

    [Theory]
    [InlineData("not json", null, "invalid_json")]
    [InlineData("""{"prompt":"no id"}""", null, "missing_id")]
    [InlineData("""{"id":"j8","prompt":42}""", "j8", "invalid_field")]
    [InlineData("""{"id":"j8","tenant":"line\nbreak","prompt":"p"}""", "j8", "invalid_field")]
    public async Task Poison_is_dead_lettered_with_a_reason_and_a_failed_result_when_the_id_is_readable(string json, string? id, string reasonCode)
    {
        var dead = Assert.IsType<Disposition.DeadLetter>(await Handle(json));
        Assert.StartsWith(reasonCode, dead.Reason, StringComparison.Ordinal);
        Assert.Equal(id, dead.Result?.Id);
        if (dead.Result is { } failed)
        {
            Assert.Equal(("Poison", "default"), (failed.Error!.Class, failed.Tenant));
        }

        Assert.Empty(_chat.Requests);
    }

    [Fact]
    public async Task Ids_that_do_not_fit_a_correlation_id_and_oversized_tenants_are_dead_lettered_unsent()
    {
        var euros = string.Concat(Enumerable.Repeat("€", 86));
        Assert.Null(Assert.IsType<Disposition.DeadLetter>(await Handle($$"""{"id":"{{euros}}","prompt":"p"}""")).Result);
        var tenant = Assert.IsType<Disposition.DeadLetter>(await Handle($$"""{"id":"j9","tenant":"{{new string('t', 200 * 1024)}}","prompt":"p"}"""));
        Assert.Equal(("j9", "default"), (tenant.Result!.Id, tenant.Result.Tenant));
        Assert.Empty(_chat.Requests);
    }

    [Fact]
    public async Task A_failure_that_is_neither_the_brokers_nor_the_endpoints_ends_the_job_after_one_call()
    {
        _chat.Answer = _ => throw new InvalidOperationException("boom\nforged log line");
        var dead = Assert.IsType<Disposition.DeadLetter>(await Handle("""{"id":"j10","prompt":"p"}"""));
        Assert.StartsWith("internal_error: InvalidOperationException", dead.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', dead.Reason);
        Assert.Equal("Internal", dead.Result!.Error!.Class);
        Assert.Single(_chat.Requests);
    }

    [Theory]
    [InlineData("""{"id":"e1","prompt":"p","deadline":"2026-12-01T23:59:59Z"}""", 0)]
    [InlineData("""{"id":"e2","prompt":"p","ttl_seconds":60}""", 61)]
    [InlineData("""{"id":"e3","prompt":"p"}""", 25 * 3600)]
    public async Task A_job_past_its_deadline_is_answered_expired_and_never_sent(string json, int enqueuedSecondsAgo)
    {
        var result = Assert.IsType<Disposition.Answer>(await Handle(json, enqueuedAt: _time.GetUtcNow().AddSeconds(-enqueuedSecondsAgo))).Result;
        Assert.Equal((JobStatus.Failed, "Expired", 0), (result.Status, result.Error!.Class, result.Attempts));
        Assert.StartsWith("expired: ", result.Error.Message, StringComparison.Ordinal);
        Assert.Empty(_chat.Requests);
    }

    [Fact]
    public async Task The_deadline_bounds_the_attempt_timeout_sent_to_the_runtime()
    {
        _chat.Answer = _ => Completion("in time");
        var result = Assert.IsType<Disposition.Answer>(await Handle("""{"id":"e4","prompt":"p","deadline":"2026-12-02T00:00:30Z"}""")).Result;
        Assert.Equal(JobStatus.Succeeded, result.Status);
        Assert.Equal(TimeSpan.FromSeconds(30), Assert.Single(_chat.Requests).Timeout);
    }

    public async ValueTask DisposeAsync() => await _services.DisposeAsync();

    private static ChatCompletion Completion(string text) => new()
    {
        Id = "cmpl-1",
        Model = "gpt-test",
        Choices = [new ChatChoice { Content = text, FinishReason = "stop" }],
        Usage = new ChatUsage(5, 2, 7),
    };

    private sealed class FakeChat : IChatCompletionClient
    {
        public Func<int, ChatCompletion> Answer { get; set; } = _ => throw new InvalidOperationException("no answer configured");

        public List<ChatCompletionRequest> Requests { get; } = [];

        public string DefaultModel => "gpt-test";

        public string Endpoint => "http://127.0.0.1:9/v1/chat/completions";

        public Task<ChatCompletion> CompleteAsync(ChatCompletionRequest request, CancellationToken cancellationToken = default)
        {
            lock (Requests)
            {
                Requests.Add(request);
                return Task.FromResult(Answer(Requests.Count));
            }
        }
    }

    private sealed class NeverHealthy : IOutageProbe
    {
        public Task<bool> IsHealthyAsync(TimeSpan timeout, CancellationToken cancellationToken) => Task.FromResult(false);
    }
}
