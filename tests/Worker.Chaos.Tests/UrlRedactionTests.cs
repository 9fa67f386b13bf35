using Worker.Connector;
using Worker.Connector.Http;

namespace Worker.Chaos.Tests;

/// <summary>
/// URLs that reach failed results and logs are cut to scheme, host, port and path: a query string (Gemini's ?key=)
/// and user-info (a gateway URL of the form https://user:secret@host/v1) may both carry credentials.
/// </summary>
public sealed class UrlRedactionTests
{
    [Theory]
    [InlineData("https://gateway.example/v1/chat/completions?key=sk-secret-in-query")]
    [InlineData("https://user:sk-secret-in-userinfo@gateway.example/v1/chat/completions")]
    [InlineData("https://sk-secret-as-user@gateway.example/v1/chat/completions")]
    public void SafeUrl_keeps_no_credentials(string url)
    {
        var safe = HttpStatusClassifier.SafeUrl(url);

        Assert.DoesNotContain("sk-secret", safe, StringComparison.Ordinal);
        Assert.StartsWith("https://gateway.example/v1/chat/completions", safe, StringComparison.Ordinal);
    }

    [Fact]
    public void A_failed_status_message_names_the_endpoint_without_its_user_info()
    {
        var error = HttpStatusClassifier.ToException(new HttpResponse { StatusCode = 500, Body = """{"error":{"message":"boom"}}""" },
            "https://user:sk-secret-in-userinfo@gateway.example/v1/chat/completions");

        Assert.Equal(ErrorClass.Transient, error.ErrorClass);
        Assert.DoesNotContain("sk-secret", error.Message, StringComparison.Ordinal);
    }
}
