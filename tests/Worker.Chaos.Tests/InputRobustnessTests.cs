using System.Buffers.Binary;
using System.Text;
using Google.FlatBuffers;
using Worker.Connector.Protocol;
using Worker.Host.Contracts;

namespace Worker.Chaos.Tests;

/// <summary>
/// Single inputs that broke a component during the hostile-input and fuzz runs, pinned as regression tests (they fail
/// until the src fixes land; see docs/security.md "Findings").
/// </summary>
public sealed class InputRobustnessTests
{
    [Theory]
    [InlineData("""{"id":"a","prompt":"lone high surrogate \ud800 here"}""")]
    [InlineData("""{"id":"a","prompt":"lone low surrogate \udc00"}""")]
    [InlineData("""{"id":"a","prompt":"reversed pair \udc00\ud800"}""")]
    [InlineData("""{"id":"a\ud800","prompt":"in the id"}""")]
    [InlineData("""{"id":"a","messages":[{"role":"user","content":"\ud83d"}]}""")]
    public void The_job_parser_classifies_an_invalid_surrogate_escape_instead_of_throwing(string body)
    {
        var parser = new JobParser(HostileCorpus.DefaultMaxJobBytes, "default", defaultStream: true);

        var result = parser.Parse(Encoding.UTF8.GetBytes(body));

        Assert.Equal(JobOutcome.DeadLettered, result.Rejection);
        Assert.False(string.IsNullOrWhiteSpace(result.Reason));
    }

    [Fact]
    public void A_request_whose_headers_vector_claims_more_entries_than_the_payload_holds_is_refused_without_allocating_them()
    {
        var builder = new FlatBufferBuilder(256);
        IpcSerializer.Write(builder, new ExecuteRequestMessage
        {
            RequestId = 0x1122334455667788,
            TenantId = "tenant-x",
            ConnectorName = "http",
            Operation = "request",
            DeadlineAtMs = 0x0102030405060708,
            Payload = Encoding.UTF8.GetBytes("0123456789"),
            Headers = [new("k1", "v1"), new("k2", "v2"), new("k3", "v3")],
        });
        var payload = IpcSerializer.Finished(builder).ToArray();

        // The headers vector is the only place the 32-bit value 3 appears: its length prefix. Claim 8 million entries.
        var at = Enumerable.Range(0, payload.Length - 3).Single(i => BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(i)) == 3);
        BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(at), 8_000_000);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = Assert.Throws<ProtocolException>(() => IpcSerializer.ReadExecuteRequest(payload, payload.Length));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0x1122334455667788UL, error.RequestId);
        Assert.True(allocated < 1024 * 1024, $"decoding a {payload.Length}-byte payload allocated {allocated / (1024 * 1024)} MiB");
    }
}
