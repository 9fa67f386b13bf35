using System.Globalization;
using System.Text;
using System.Text.Json;
using Worker.Simulator.Http;

namespace Worker.Simulator.Json;

/// <summary>
/// Typed reads of request values with OpenAI's wording of type and range errors, e.g.
/// "Invalid type for 'n': expected an integer, but got a string instead.".
/// </summary>
internal static class JsonValueRules
{
    public static bool? ReadBoolean(ref Utf8JsonReader reader, string param) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        JsonTokenType.Null => null,
        _ => throw InvalidType(ref reader, param, "a boolean"),
    };

    public static int? ReadInteger(ref Utf8JsonReader reader, string param, int min, int max)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number || !IsIntegerLiteral(ref reader))
        {
            throw InvalidType(ref reader, param, "an integer");
        }

        // An integer literal too large for long is still an integer, just out of range.
        var value = reader.TryGetInt64(out var parsed) ? parsed : (RawText(ref reader).StartsWith('-') ? long.MinValue : long.MaxValue);
        if (value < min)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid '{param}': integer below minimum value. Expected a value >= {min}, but got {RawText(ref reader)} instead.",
                param,
                "integer_below_min_value"));
        }

        if (value > max)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid '{param}': integer above maximum value. Expected a value <= {max}, but got {RawText(ref reader)} instead.",
                param,
                "integer_above_max_value"));
        }

        return (int)value;
    }

    public static double? ReadNumber(ref Utf8JsonReader reader, string param, double min, double max)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            throw InvalidType(ref reader, param, "a number");
        }

        var value = reader.GetDouble();
        if (value < min)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid '{param}': decimal below minimum value. Expected a value >= {Format(min)}, but got {RawText(ref reader)} instead.",
                param,
                "decimal_below_min_value"));
        }

        if (value > max)
        {
            throw new RequestValidationException(ApiError.InvalidRequest(
                $"Invalid '{param}': decimal above maximum value. Expected a value <= {Format(max)}, but got {RawText(ref reader)} instead.",
                param,
                "decimal_above_max_value"));
        }

        return value;
    }

    public static RequestValidationException InvalidType(ref Utf8JsonReader reader, string param, string expected) =>
        InvalidType(param, expected, Describe(ref reader));

    public static RequestValidationException InvalidType(string param, string expected, string got) =>
        new(ApiError.InvalidRequest($"Invalid type for '{param}': expected {expected}, but got {got} instead.", param, "invalid_type"));

    public static RequestValidationException Missing(string param) =>
        new(ApiError.InvalidRequest($"Missing required parameter: '{param}'.", param, "missing_required_parameter"));

    /// <summary>The current token's raw text (unescaped for strings), for error messages only.</summary>
    public static string RawText(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() ?? string.Empty;
        }

        return reader.HasValueSequence
            ? Encoding.UTF8.GetString(reader.ValueSequence)
            : Encoding.UTF8.GetString(reader.ValueSpan);
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => "a string",
        JsonTokenType.Number => IsIntegerLiteral(ref reader) ? "an integer" : "a decimal",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        _ => "an unexpected value",
    };

    private static bool IsIntegerLiteral(ref Utf8JsonReader reader)
    {
        if (reader.HasValueSequence)
        {
            foreach (var segment in reader.ValueSequence)
            {
                if (segment.Span.IndexOfAny(".eE"u8) >= 0)
                {
                    return false;
                }
            }

            return true;
        }

        return reader.ValueSpan.IndexOfAny(".eE"u8) < 0;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);
}
