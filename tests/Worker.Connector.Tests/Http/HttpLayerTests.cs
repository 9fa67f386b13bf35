using System.Text.Json;
using Worker.Connector.Http;
using Worker.Connector.OpenAi;

namespace Worker.Connector.Tests.Http;

public sealed class HttpLayerTests
{
    [Theory]
    [InlineData(200, ErrorClass.Success)]
    [InlineData(204, ErrorClass.Success)]
    [InlineData(301, ErrorClass.Success)]
    [InlineData(400, ErrorClass.InvalidRequest)]
    [InlineData(404, ErrorClass.InvalidRequest)]
    [InlineData(422, ErrorClass.InvalidRequest)]
    [InlineData(401, ErrorClass.Permanent)]
    [InlineData(403, ErrorClass.Permanent)]
    [InlineData(408, ErrorClass.Transient)]
    [InlineData(429, ErrorClass.RateLimited)]
    [InlineData(500, ErrorClass.Transient)]
    [InlineData(502, ErrorClass.Transient)]
    [InlineData(503, ErrorClass.Transient)]
    public void Status_classification(int status, ErrorClass expected) =>
        Assert.Equal(expected, HttpStatusClassifier.Classify(status));

    [Fact]
    public void Rate_limit_exception_carries_status_and_retry_after_seconds()
    {
        var response = new HttpResponse
        {
            StatusCode = 429,
            Headers = new Dictionary<string, string> { ["retry-after"] = "7" },
            Body = """{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}""",
            RequestId = 5,
        };
        var ex = HttpStatusClassifier.ToException(response, "http://127.0.0.1:4545/v1/chat/completions?key=secret");
        Assert.Equal(ErrorClass.RateLimited, ex.ErrorClass);
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.Equal(5UL, ex.RequestId);
        Assert.Contains("Rate limit reached", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unauthorized_says_the_key_was_refused_and_never_echoes_the_upstream_text()
    {
        var response = new HttpResponse
        {
            StatusCode = 401,
            Body = """{"error":{"message":"Incorrect API key provided: sk-live-123","type":"invalid_request_error","code":"invalid_api_key"}}""",
        };
        var ex = HttpStatusClassifier.ToException(response);
        Assert.Equal(ErrorClass.Permanent, ex.ErrorClass);
        Assert.Contains("API key", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sk-live-123", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Retry_after_parses_seconds_and_http_dates()
    {
        var now = new DateTimeOffset(2026, 11, 24, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(3), RetryAfter.Parse("3", now));
        Assert.Equal(TimeSpan.FromSeconds(1.5), RetryAfter.Parse("1.5", now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryAfter.Parse("Tue, 24 Nov 2026 12:00:30 GMT", now));
        Assert.Equal(TimeSpan.Zero, RetryAfter.Parse("Tue, 24 Nov 2026 11:00:00 GMT", now));
        Assert.Null(RetryAfter.Parse("soon", now));
        Assert.Null(RetryAfter.Parse("-4", now));
        Assert.Null(RetryAfter.Parse(null, now));
    }

    [Fact]
    public void Response_helpers()
    {
        var response = new HttpResponse
        {
            StatusCode = 503,
            Headers = new Dictionary<string, string> { ["content-type"] = "application/json" },
            Body = """{"a":1}""",
        };
        Assert.True(response.Is5xx);
        Assert.False(response.Is2xx || response.Is3xx || response.Is4xx);
        Assert.Equal("application/json", response.GetHeader("Content-Type"));
        Assert.Equal(1, response.BodyAsJson().RootElement.GetProperty("a").GetInt32());
        Assert.Equal(ErrorClass.Transient, Assert.Throws<ConnectorException>(() => response.EnsureSuccess()).ErrorClass);
    }

    [Fact]
    public void Request_and_payload_text_never_show_header_values()
    {
        var request = HttpRequest.PostJson("http://x/v1", "{}") with
        {
            Headers = new Dictionary<string, string> { ["Authorization"] = "Bearer sk-secret-value" },
        };
        Assert.DoesNotContain("sk-secret-value", request.ToString(), StringComparison.Ordinal);
        Assert.Contains("Authorization", request.ToString(), StringComparison.Ordinal);
        var payload = new HttpRequestPayload { Method = "POST", Url = "http://x", Headers = new() { ["Authorization"] = "Bearer sk-secret-value" } };
        Assert.DoesNotContain("sk-secret-value", payload.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("sk-secret-value", new OpenAiOptions { ApiKey = "sk-secret-value" }.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Request_payload_json_matches_the_original_sdk_shape()
    {
        var bytes = HttpPayloadSerializer.Serialize(new HttpRequestPayload { Method = "GET", Url = "http://127.0.0.1:4599/unreachable" });
        Assert.Equal("""{"method":"GET","url":"http://127.0.0.1:4599/unreachable"}""", System.Text.Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public void Chat_body_has_typed_fields_stream_options_and_passes_extras_through()
    {
        using var extras = JsonDocument.Parse("""{"top_p":0.5,"stop":["x"],"model":"ignored","temperature":1.9}""");
        var body = System.Text.Encoding.UTF8.GetString(OpenAiChatClient.BuildBody(new ChatCompletionRequest
        {
            Messages = [ChatMessage.System("be brief"), ChatMessage.User("What is the capital of France?")],
            Temperature = 0.2,
            MaxTokens = 256,
            ExtraParameters = extras.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone()),
        }, "gpt-4o-mini"));
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        Assert.Equal("gpt-4o-mini", root.GetProperty("model").GetString());
        Assert.Equal(2, root.GetProperty("messages").GetArrayLength());
        Assert.Equal("user", root.GetProperty("messages")[1].GetProperty("role").GetString());
        Assert.Equal(0.2, root.GetProperty("temperature").GetDouble());
        Assert.Equal(256, root.GetProperty("max_tokens").GetInt32());
        Assert.True(root.GetProperty("stream").GetBoolean());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
        Assert.Equal(0.5, root.GetProperty("top_p").GetDouble());
        Assert.Equal("x", root.GetProperty("stop")[0].GetString());
        Assert.Equal(1, body.Split("\"model\"").Length - 1);
        Assert.Equal(1, body.Split("\"temperature\"").Length - 1);
    }
}

public sealed class HttpResponsePayloadReaderTests
{
    [Fact]
    public void Golden_responses_read_into_the_same_body_headers_and_status_as_the_json_model()
    {
        foreach (var vector in GoldenVectors.Frames.Where(f => f.GetProperty("message_type").GetInt32() == 1))
        {
            var frame = Convert.FromHexString(vector.GetProperty("frame_hex").GetString()!);
            var message = Worker.Connector.Protocol.IpcSerializer.ReadExecuteResponse(frame[5..], frame.Length - 5);
            if (message.Payload.IsEmpty)
            {
                continue;
            }

            var model = HttpPayloadSerializer.DeserializeResponse(message.Payload.Span);
            var response = HttpResponsePayloadReader.Read(message.Payload.Span, message.RequestId, TimeSpan.Zero);
            Assert.Equal(model.StatusCode, response.StatusCode);
            Assert.Equal(model.IsStreaming, response.IsStreaming);
            Assert.Equal(model.Body, response.Body);
            Assert.Equal(model.Body, System.Text.Encoding.UTF8.GetString(response.BodyUtf8.Span));
            Assert.Equal(model.Headers!.Count, response.Headers.Count);
            Assert.Equal(model.Headers["content-type"], response.GetHeader("Content-Type"));
        }
    }

    [Fact]
    public void Escapes_unicode_and_odd_headers_survive()
    {
        var body = "data: {\"content\":\"Ünïcödé «q» <tag> & \\\"x\\\"\\n\"}\n\n\u00e9\u4e2d\ud83d\ude00";
        var payload = HttpPayloadSerializer.Serialize(new HttpResponsePayload
        {
            StatusCode = 429,
            Body = body,
            IsStreaming = true,
            Headers = new() { ["retry-after"] = "3", ["x-a"] = "1" },
        });
        var withOddHeader = System.Text.Encoding.UTF8.GetString(payload).Replace("\"x-a\":\"1\"", "\"x-a\":1,\"Retry-After\":\"4\"", StringComparison.Ordinal);
        var response = HttpResponsePayloadReader.Read(System.Text.Encoding.UTF8.GetBytes(withOddHeader), 9, TimeSpan.Zero);
        Assert.Equal(body, response.Body);
        Assert.Equal(429, response.StatusCode);
        Assert.Equal("4", response.GetHeader("retry-after"));
        Assert.Null(response.GetHeader("x-a"));
        Assert.Throws<System.Text.Json.JsonException>(() => HttpResponsePayloadReader.Read("[1]"u8, 1, TimeSpan.Zero));
    }
}
