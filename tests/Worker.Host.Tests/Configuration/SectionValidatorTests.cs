using Worker.Host.Configuration;

namespace Worker.Host.Tests.Configuration;

public sealed class SectionValidatorTests
{
    [Fact]
    public void Options_validation_names_the_key()
    {
        var validator = new SectionValidator<WorkerOptions>(WorkerOptions.SectionName);
        var result = validator.Validate(null, new WorkerOptions { Concurrency = 0 });
        Assert.True(result.Failed);
        Assert.Contains("Worker:Concurrency", result.FailureMessage, StringComparison.Ordinal);
        var prefetch = validator.Validate(null, new WorkerOptions { Concurrency = 8, Prefetch = 4 });
        Assert.Contains("Worker:Prefetch", prefetch.FailureMessage, StringComparison.Ordinal);
        var rabbit = new SectionValidator<RabbitMqOptions>(RabbitMqOptions.SectionName).Validate(null, new RabbitMqOptions { Uri = "http://user:hunter2@x" });
        Assert.Contains("RabbitMq:Uri", rabbit.FailureMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", rabbit.FailureMessage, StringComparison.Ordinal);
    }
}
