using System.Text.Json;

namespace Worker.Simulator.Http;

/// <summary>Writes an <see cref="ApiError"/> in the dialect's JSON shape.</summary>
internal static class ErrorJson
{
    public static void Write(Utf8JsonWriter json, ApiError error, ErrorDialect dialect)
    {
        json.WriteStartObject();
        if (dialect == ErrorDialect.Anthropic)
        {
            json.WriteString("type"u8, "error"u8);
            json.WriteStartObject("error"u8);
            json.WriteString("type"u8, AnthropicErrorTypes.For(error.StatusCode));
            json.WriteString("message"u8, error.Message);
            json.WriteEndObject();
            json.WriteEndObject();
            return;
        }

        json.WriteStartObject("error"u8);
        if (dialect == ErrorDialect.Google)
        {
            json.WriteNumber("code"u8, error.StatusCode);
            json.WriteString("message"u8, error.Message);
            json.WriteString("status"u8, error.GoogleStatus);
        }
        else
        {
            json.WriteString("message"u8, error.Message);
            json.WriteString("type"u8, error.Type);
            WriteNullable(json, "param"u8, error.Param);
            WriteNullable(json, "code"u8, error.Code);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static void WriteNullable(Utf8JsonWriter json, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
