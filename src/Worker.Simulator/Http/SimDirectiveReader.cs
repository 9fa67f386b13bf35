using System.Globalization;
using Microsoft.Extensions.Options;
using Worker.Simulator.Faults;
using Worker.Simulator.Latency;
using Worker.Simulator.Options;

namespace Worker.Simulator.Http;

/// <summary>Reads X-Sim-Latency, X-Sim-Fault and X-Sim-Tokens; a malformed header is a 400 naming the header.</summary>
internal sealed class SimDirectiveReader
{
    public const string TokensHeader = "X-Sim-Tokens";

    /// <summary>Upper bound of a requested answer length, so a typo cannot make an endless answer.</summary>
    public const int MaxTokens = 1_000_000;

    private readonly LatencyProfile _defaultLatency;
    private readonly int _defaultRetryAfter;

    public SimDirectiveReader(IOptions<SimulatorOptions> options)
    {
        var value = options.Value;
        _defaultLatency = new LatencyProfile(
            TimeSpan.FromMilliseconds(value.Latency.TimeToFirstTokenMs),
            TimeSpan.FromMilliseconds(value.Latency.TimePerTokenMs));
        _defaultRetryAfter = value.Faults.RetryAfterSeconds;
    }

    public bool TryRead(HttpRequest request, out SimDirectives directives, out ApiError? error)
    {
        directives = new SimDirectives(_defaultLatency, null, null);
        error = null;
        var headers = request.Headers;

        var latency = _defaultLatency;
        if (headers.TryGetValue(LatencyHeaderParser.HeaderName, out var latencyHeader)
            && !LatencyHeaderParser.TryParse(latencyHeader.ToString(), _defaultLatency, out latency, out var latencyError))
        {
            error = ApiError.InvalidRequest(latencyError!, LatencyHeaderParser.HeaderName, "invalid_header");
            return false;
        }

        FaultPlan? fault = null;
        if (headers.TryGetValue(FaultHeaderParser.HeaderName, out var faultHeader))
        {
            if (!FaultHeaderParser.TryParse(faultHeader.ToString(), _defaultRetryAfter, out var plan, out var faultError))
            {
                error = ApiError.InvalidRequest(faultError!, FaultHeaderParser.HeaderName, "invalid_header");
                return false;
            }

            fault = plan;
        }

        int? tokens = null;
        if (headers.TryGetValue(TokensHeader, out var tokensHeader))
        {
            if (!int.TryParse(tokensHeader.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count > MaxTokens)
            {
                error = ApiError.InvalidRequest(
                    $"Invalid {TokensHeader} header '{tokensHeader}': expected an integer between 0 and {MaxTokens}.",
                    TokensHeader,
                    "invalid_header");
                return false;
            }

            tokens = count;
        }

        directives = new SimDirectives(latency, fault, tokens);
        return true;
    }
}
