using Microsoft.Extensions.Configuration;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Worker.Host.Publishing;

namespace Worker.Host.Cli;

/// <summary>
/// <c>results [--follow]</c>: prints results from the results queue, one JSON per line, acking each; live deltas
/// (<c>completion.delta</c>) as <c>[id #seq] text</c> lines as they arrive, before their job's result.
/// </summary>
internal sealed class ResultsCommand
{
    private readonly IConfiguration _configuration;
    private readonly TextWriter _out;

    public ResultsCommand(IConfiguration configuration, TextWriter? output = null)
    {
        _configuration = configuration;
        _out = output ?? Console.Out;
    }

    public async Task<int> RunAsync(string? queueName, bool follow, CancellationToken cancellationToken)
    {
        var rabbit = CliConfiguration.RabbitMq(_configuration);
        var queue = queueName ?? rabbit.ResultsQueue;
        if (string.IsNullOrEmpty(queue))
        {
            await Console.Error.WriteLineAsync("results: no queue (RabbitMq:ResultsQueue is empty; pass --queue)");
            return 2;
        }

        var factory = RabbitMqConnectionProvider.CreateFactory(rabbit);
        factory.ClientProvidedName = "worker-results";
        await using var connection = await RabbitMqConnectionProvider.ConnectAsync(factory, rabbit, cancellationToken);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: cancellationToken);
        if (!follow)
        {
            var printed = 0;
            while (await channel.BasicGetAsync(queue, autoAck: false, cancellationToken) is { } message)
            {
                await _out.WriteLineAsync(ResultLine.Format(message.RoutingKey, message.Body.Span));
                await channel.BasicAckAsync(message.DeliveryTag, multiple: false, cancellationToken);
                printed++;
            }

            await Console.Error.WriteLineAsync($"results: {printed} printed from {queue}");
            return 0;
        }

        await channel.BasicQosAsync(0, 100, false, cancellationToken);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            await _out.WriteLineAsync(ResultLine.Format(delivery.RoutingKey, delivery.Body.Span));
            await _out.FlushAsync(CancellationToken.None);
            await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None);
        };
        await channel.BasicConsumeAsync(queue, autoAck: false, consumer, cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
