using System.Text.Json;
using Worker.Simulator.Generation;

namespace Worker.Simulator.Responses;

/// <summary>Writes a choice's whole text as one JSON string value, token by token (no string is built).</summary>
internal static class TokenText
{
    public static void WriteValue(Utf8JsonWriter json, AnswerPlan plan, int choice)
    {
        if (plan.Tokens == 0)
        {
            json.WriteStringValue(""u8);
            return;
        }

        Span<byte> token = stackalloc byte[TokenFormatter.MaxTokenBytes];
        for (var step = 0; step < plan.Tokens; step++)
        {
            var length = plan.FormatToken(choice, step, token);
            json.WriteStringValueSegment(token[..length], isFinalSegment: step == plan.Tokens - 1);
        }
    }
}
