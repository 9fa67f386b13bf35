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
}
