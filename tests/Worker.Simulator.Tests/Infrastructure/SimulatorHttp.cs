using System.Diagnostics;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Worker.Simulator.Tests.Infrastructure;

/// <summary>Small helpers to talk to a real simulator over HTTP.</summary>
internal static class SimulatorHttp
{
    public const string Model = "gpt-4o-mini";

    public static HttpClient CreateClient(this SimulatorServer server, TimeSpan? timeout = null) =>
        new() { BaseAddress = server.BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    /// <summary>A chat request body with one user message; <paramref name="extra"/> adds or replaces fields.</summary>
    public static string ChatBody(string prompt, bool stream = false, string model = Model, Action<JsonObject>? extra = null)
    {
        var body = new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You are terse." },
                new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        if (stream)
        {
            body["stream"] = true;
        }

        extra?.Invoke(body);
        return body.ToJsonString();
    }

    public static HttpRequestMessage Post(string path, string body, params (string Name, string Value)[] headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        return request;
    }

    public static async Task<HttpResponseMessage> SendAsync(this HttpClient client, string path, string body, params (string Name, string Value)[] headers)
    {
        using var request = Post(path, body, headers);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>All SSE data fields, parsed with the in-box <see cref="SseParser"/>.</summary>
    public static async Task<List<string>> ReadEventsAsync(this HttpResponseMessage response, CancellationToken cancellationToken = default)
    {
        var events = new List<string>();
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            events.Add(item.Data);
        }

        return events;
    }

    /// <summary>SSE data fields with the time each arrived, measured from <paramref name="clock"/>.</summary>
    public static async Task<List<(string Data, TimeSpan At)>> ReadTimedEventsAsync(this HttpResponseMessage response, Stopwatch clock)
    {
        var events = new List<(string, TimeSpan)>();
        await using var stream = await response.Content.ReadAsStreamAsync();
        await foreach (var item in SseParser.Create(stream).EnumerateAsync())
        {
            events.Add((item.Data, clock.Elapsed));
        }

        return events;
    }

    /// <summary>Concatenated delta.content of one choice of chat.completion.chunk events.</summary>
    public static string AccumulateContent(IEnumerable<string> events, int choice = 0)
    {
        var text = new StringBuilder();
        foreach (var data in events)
        {
            if (data == "[DONE]")
            {
                continue;
            }

            using var document = JsonDocument.Parse(data);
            foreach (var item in document.RootElement.GetProperty("choices").EnumerateArray())
            {
                if (item.GetProperty("index").GetInt32() == choice
                    && item.GetProperty("delta").TryGetProperty("content", out var content)
                    && content.ValueKind == JsonValueKind.String)
                {
                    text.Append(content.GetString());
                }
            }
        }

        return text.ToString();
    }

    public static async Task<JsonElement> GetStatsAsync(this HttpClient client)
    {
        using var response = await client.GetAsync("stats");
        response.EnsureSuccessStatusCode();
        return await response.ReadJsonAsync();
    }

    /// <summary>Asserts an object has exactly these property names (order-insensitive).</summary>
    public static void AssertProperties(JsonElement element, params string[] names)
    {
        Assert.Equal(JsonValueKind.Object, element.ValueKind);
        var actual = element.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(names.Order(StringComparer.Ordinal).ToArray(), actual);
    }

    /// <summary>Polls until <paramref name="condition"/> holds (generous deadline; never a timing assertion).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string because)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"Timed out waiting until {because}.");
            await Task.Delay(20);
        }
    }
}
