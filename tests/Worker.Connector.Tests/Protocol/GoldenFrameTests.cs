using System.Text.Json;
using Google.FlatBuffers;
using Worker.Connector.Http;
using Worker.Connector.Protocol;

namespace Worker.Connector.Tests.Protocol;

/// <summary>Frames captured between the original Python SDK and the original runtime (Vectors/vastar-ipc-frames.json).</summary>
public sealed class GoldenFrameTests
{
    public static TheoryData<string> FrameNames()
    {
        var data = new TheoryData<string>();
        foreach (var frame in GoldenVectors.Frames)
        {
            data.Add(frame.GetProperty("name").GetString()!);
        }

        return data;
    }

    [Fact]
    public void Vectors_file_holds_requests_and_responses()
    {
        Assert.True(GoldenVectors.Frames.Count >= 6, "expected at least six golden frames");
        Assert.Contains(GoldenVectors.Frames, f => f.GetProperty("message_type").GetInt32() == 0);
        Assert.Contains(GoldenVectors.Frames, f => f.GetProperty("message_type").GetInt32() == 1);
    }

    [Theory]
    [MemberData(nameof(FrameNames))]
    public void Golden_frame_decodes_to_exactly_the_listed_fields(string name)
    {
        var vector = GoldenVectors.ByName(name);
        var bytes = Convert.FromHexString(vector.GetProperty("frame_hex").GetString()!);
        var (type, payload) = ReadSingleFrame(bytes);
        Assert.Equal(vector.GetProperty("message_type").GetInt32(), type);
        var expected = vector.GetProperty("decoded");
        if (type == (int)MessageType.ExecuteRequest)
        {
            AssertRequest(expected, IpcSerializer.ReadExecuteRequest(payload, payload.Length));
        }
        else
        {
            AssertResponse(expected, IpcSerializer.ReadExecuteResponse(payload, payload.Length));
        }
    }

    [Theory]
    [MemberData(nameof(FrameNames))]
    public void Our_encoding_of_the_decoded_fields_decodes_back_to_the_same_fields(string name)
    {
        var vector = GoldenVectors.ByName(name);
        var bytes = Convert.FromHexString(vector.GetProperty("frame_hex").GetString()!);
        var (type, payload) = ReadSingleFrame(bytes);
        var builder = new FlatBufferBuilder(64);
        if (type == (int)MessageType.ExecuteRequest)
        {
            IpcSerializer.Write(builder, IpcSerializer.ReadExecuteRequest(payload, payload.Length));
        }
        else
        {
            IpcSerializer.Write(builder, IpcSerializer.ReadExecuteResponse(payload, payload.Length));
        }

        var ours = FrameCodec.Encode((MessageType)type, IpcSerializer.Finished(builder));
        var (ourType, ourPayload) = ReadSingleFrame(ours);
        Assert.Equal(type, ourType);
        var expected = vector.GetProperty("decoded");
        if (type == (int)MessageType.ExecuteRequest)
        {
            AssertRequest(expected, IpcSerializer.ReadExecuteRequest(ourPayload, ourPayload.Length));
        }
        else
        {
            AssertResponse(expected, IpcSerializer.ReadExecuteResponse(ourPayload, ourPayload.Length));
        }
    }

    [Fact]
    public void Golden_stream_response_parses_into_the_seed_answer()
    {
        var vector = GoldenVectors.Frames.First(f => f.GetProperty("name").GetString()!.Contains("event-stream", StringComparison.Ordinal));
        var (_, payload) = ReadSingleFrame(Convert.FromHexString(vector.GetProperty("frame_hex").GetString()!));
        var response = IpcSerializer.ReadExecuteResponse(payload, payload.Length);
        var http = HttpPayloadSerializer.DeserializeResponse(response.Payload.Span);
        Assert.True(http.IsStreaming);
        var completion = Worker.Connector.OpenAi.ChatCompletionParser.Parse(http.Body!);
        Assert.Equal("Paris is the capital of France . ", completion.Content);
    }

    private static (int Type, byte[] Payload) ReadSingleFrame(byte[] frame)
    {
        var (type, length) = FrameCodec.ReadHeader(frame);
        Assert.Equal(frame.Length - FrameCodec.HeaderSize, length);
        return (type, frame[FrameCodec.HeaderSize..]);
    }

    private static void AssertRequest(JsonElement expected, ExecuteRequestMessage actual)
    {
        Assert.Equal(expected.GetProperty("request_id").GetUInt64(), actual.RequestId);
        Assert.Equal(expected.GetProperty("tenant_id").GetString(), actual.TenantId);
        Assert.Equal(OptionalString(expected, "workspace_id"), actual.WorkspaceId);
        Assert.Equal(OptionalString(expected, "trace_id"), actual.TraceId);
        Assert.Equal(expected.GetProperty("connector_name").GetString(), actual.ConnectorName);
        Assert.Equal(expected.GetProperty("operation").GetString(), actual.Operation);
        Assert.Equal(expected.GetProperty("deadline_at_ms").GetUInt64(), actual.DeadlineAtMs);
        Assert.Equal(expected.GetProperty("headers_length").GetInt32(), actual.Headers.Count);
        AssertPayloadJson(expected.GetProperty("payload_json"), actual.Payload);
    }

    private static void AssertResponse(JsonElement expected, ExecuteResponseMessage actual)
    {
        Assert.Equal(expected.GetProperty("request_id").GetUInt64(), actual.RequestId);
        Assert.Equal(expected.GetProperty("error_class").GetInt32(), (int)actual.ErrorClass);
        Assert.Equal(OptionalString(expected, "error_message"), actual.ErrorMessage);
        if (expected.TryGetProperty("duration_us", out var duration))
        {
            Assert.Equal(duration.GetUInt64(), actual.DurationUs);
        }

        AssertPayloadJson(expected.GetProperty("payload_json"), actual.Payload);
    }

    private static void AssertPayloadJson(JsonElement expected, ReadOnlyMemory<byte> payload)
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.True(payload.IsEmpty, "expected no payload");
            return;
        }

        using var actual = JsonDocument.Parse(payload);
        Assert.True(JsonElement.DeepEquals(expected, actual.RootElement),
            $"payload differs:\nexpected {expected.GetRawText()}\nactual   {actual.RootElement.GetRawText()}");
    }

    private static string? OptionalString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
