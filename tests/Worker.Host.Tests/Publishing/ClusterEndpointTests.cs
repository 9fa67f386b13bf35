using System.ComponentModel.DataAnnotations;
using RabbitMQ.Client;
using Worker.Host.Configuration;
using Worker.Host.Publishing;

namespace Worker.Host.Tests.Publishing;

/// <summary><c>RabbitMq:Hosts</c>: parsing, validation naming the key, the endpoint list, and the order nodes are tried in.</summary>
public sealed class ClusterEndpointTests
{
    [Fact]
    public void Hosts_become_endpoints_with_the_uri_port_and_tls_unless_they_name_their_own_port()
    {
        var options = new RabbitMqOptions { Uri = "amqps://u:p@broker.example:5671/vh" };
        options.Hosts.Add("node-a");
        options.Hosts.Add("node-b:5999");
        options.Hosts.Add("[fd00::1]:5673");

        var endpoints = RabbitMqConnectionProvider.Endpoints(options);

        Assert.Equal(["node-a:5671", "node-b:5999", "fd00::1:5673"], endpoints.Select(e => $"{e.HostName}:{e.Port}"));
        Assert.All(endpoints, e => Assert.True(e.Ssl.Enabled));
        Assert.Equal("amqps://node-a,node-b:5999,[fd00::1]:5673/vh", options.SafeUri());
        Assert.DoesNotContain("p@", options.SafeUri(), StringComparison.Ordinal);
    }

    [Fact]
    public void Without_hosts_the_uri_host_is_the_only_endpoint()
    {
        var endpoints = RabbitMqConnectionProvider.Endpoints(new RabbitMqOptions { Uri = "amqp://u:p@single:5680/" });

        Assert.Equal("single:5680", Assert.Single(endpoints.Select(e => $"{e.HostName}:{e.Port}")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("host:0")]
    [InlineData("host:70000")]
    [InlineData("user:pw@host")]
    [InlineData("host/vhost")]
    public void A_bad_host_entry_fails_validation_naming_its_key(string entry)
    {
        var options = new RabbitMqOptions();
        options.Hosts.Add("good:5672");
        options.Hosts.Add(entry);

        var results = new List<ValidationResult>();
        Assert.False(Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true));
        Assert.Contains(results, r => r.ErrorMessage!.StartsWith("RabbitMq:Hosts:1:", StringComparison.Ordinal));
    }

    [Fact]
    public void The_node_just_lost_is_tried_last_and_the_others_are_spread()
    {
        AmqpTcpEndpoint[] nodes = [new("a", 1), new("b", 2), new("c", 3)];
        var resolver = new ClusterEndpointResolver(nodes);
        var firsts = Enumerable.Range(0, 300).Select(_ => resolver.All().First().HostName).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(["a", "b", "c"], firsts.Order(StringComparer.Ordinal));

        resolver.Demote(new AmqpTcpEndpoint("b", 2));

        for (var i = 0; i < 100; i++)
        {
            var order = resolver.All().Select(e => e.HostName).ToList();
            Assert.Equal(3, order.Distinct(StringComparer.Ordinal).Count());
            Assert.Equal("b", order[^1]);
        }
    }

    [Fact]
    public void Each_attempt_reports_the_order_it_was_given_with_the_lost_node_last()
    {
        var reported = new List<string>();
        var resolver = new ClusterEndpointResolver([new AmqpTcpEndpoint("a", 1), new AmqpTcpEndpoint("b", 2), new AmqpTcpEndpoint("c", 3)])
        {
            Resolved = order => reported.Add(string.Join(",", order.Select(e => e.HostName))),
        };
        resolver.Demote(new AmqpTcpEndpoint("a", 1));

        var first = string.Join(",", resolver.All().Select(e => e.HostName));
        var second = string.Join(",", resolver.All().Select(e => e.HostName));

        Assert.Equal([first, second], reported);
        Assert.All(reported, order => Assert.EndsWith(",a", order, StringComparison.Ordinal));
    }

    [Fact]
    public void The_heartbeat_defaults_to_one_second_so_a_silent_node_is_given_up_within_four()
    {
        // RabbitMQ.Client gives a silent peer up 3 to 4 heartbeats after its last frame: 3-4 s, not the 6-8 s of 2 s.
        var factory = RabbitMqConnectionProvider.CreateFactory(new RabbitMqOptions());

        Assert.Equal(TimeSpan.FromSeconds(1), factory.RequestedHeartbeat);
    }

    [Fact]
    public void An_attempt_while_the_connection_in_use_is_open_is_refused_without_trying_a_node()
    {
        var open = true;
        var reported = 0;
        var resolver = new ClusterEndpointResolver([new AmqpTcpEndpoint("a", 1), new AmqpTcpEndpoint("b", 2)])
        {
            InUse = () => open,
            Resolved = _ => reported++,
        };

        Assert.Throws<RecoveryNotNeededException>(() => resolver.All());
        Assert.Equal(0, reported);

        open = false;
        Assert.Equal(2, resolver.All().Count());
        Assert.Equal(1, reported);
    }
}
