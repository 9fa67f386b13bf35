using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Worker.Host.Contracts;
using Worker.Host.Publishing;

namespace Worker.Host.Cli;

/// <summary>
/// <c>cancel ID...</c>: publishes one <see cref="CancelRequest"/> per id to the control exchange, with confirms. Every
/// worker hears it: a job in flight is stopped, a job not yet received is answered cancelled when it arrives.
/// </summary>
internal sealed class CancelCommand
{
    private readonly IConfiguration _configuration;
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    public CancelCommand(IConfiguration configuration, TextWriter? output = null, TextWriter? error = null)
    {
        _configuration = configuration;
        _out = output ?? Console.Out;
        _err = error ?? Console.Error;
    }

    public async Task<int> RunAsync(IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (ids.Count == 0)
        {
            await _err.WriteLineAsync("cancel: give at least one job id");
            return 2;
        }

        // The same check the workers make: a request they would drop is refused here, before anything is sent.
        var requests = new List<(string Id, byte[] Body)>(ids.Count);
        foreach (var id in ids)
        {
            var body = ControlSerializer.Serialize(new CancelRequest { Id = id });
            if (!ControlSerializer.TryReadCancel(body, out _, out var reason))
            {
                await _err.WriteLineAsync($"cancel: '{SafeText.Escape(id, 80)}' is not a job id ({reason})");
                return 2;
            }

            requests.Add((id, body));
        }

        var rabbit = CliConfiguration.RabbitMq(_configuration);
        var factory = RabbitMqConnectionProvider.CreateFactory(rabbit);
        factory.ClientProvidedName = "worker-cancel";
        await using var connection = await RabbitMqConnectionProvider.ConnectAsync(factory, rabbit, cancellationToken);
        await new TopologyDeclarer(Options.Create(rabbit)).DeclareAsync(connection, cancellationToken);
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(true, true, new ThrottlingRateLimiter(rabbit.MaxOutstandingConfirms), consumerDispatchConcurrency: 1), cancellationToken);
        foreach (var (id, body) in requests)
        {
            var properties = new BasicProperties { ContentType = "application/json", CorrelationId = id, Timestamp = new AmqpTimestamp(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(rabbit.PublishTimeout);
            await channel.BasicPublishAsync(rabbit.ControlExchange, CancelRequest.RoutingKey, mandatory: false, properties, body, timeout.Token);
            await _out.WriteLineAsync($"cancel: sent for {id}");
        }

        await _err.WriteLineAsync($"cancel: {requests.Count} request(s) published to {rabbit.ControlExchange}");
        return 0;
    }
}
