using Worker.Simulator.Generation;

namespace Worker.Simulator.Responses;

/// <summary>Why an Anthropic answer stopped: <c>end_turn</c>, or <c>max_tokens</c> when max_tokens cut it.</summary>
internal readonly struct AnthropicStopReason
{
    private readonly bool _truncated;

    private AnthropicStopReason(bool truncated) => _truncated = truncated;

    public ReadOnlySpan<byte> Name => _truncated ? "max_tokens"u8 : "end_turn"u8;

    public static AnthropicStopReason For(AnswerPlan plan) => new(plan.Truncated);
}
