using System.Globalization;
using System.Text.Json;

namespace Worker.Simulator.Generation;

/// <summary>
/// Writes a deterministic JSON value that is valid against a JSON schema (the subset tool parameters and structured
/// outputs use): type (or a list of types), properties/required, items/minItems/maxItems, enum, const,
/// anyOf/oneOf/allOf (the first alternative), $ref into $defs/definitions, minimum/maximum (exclusive too),
/// multipleOf, minLength/maxLength and the formats date-time, date, time, email, uri and uuid. Every declared property
/// is written, so strict schemas (all properties required, additionalProperties false) are met. <c>pattern</c> is
/// not honoured. The same schema and seed always give the same bytes.
/// </summary>
internal static class SchemaValueGenerator
{
    // Deep enough for real schemas; beyond it optional structure is left out so recursive $refs end.
    private const int MaxDepth = 12;

    // Beyond this even required properties are left out: a schema that requires itself recursively has no finite
    // instance, and the request must not take the simulator down.
    private const int HardDepth = 2 * MaxDepth;

    // Requests are untrusted: absurd minItems/minLength are capped rather than honoured.
    private const int MaxItems = 256;
    private const int MaxStringLength = 16 * 1024;

    public static void Write(Utf8JsonWriter json, JsonElement? schema, ulong seed)
    {
        if (schema is not { } root)
        {
            json.WriteStartObject();
            json.WriteEndObject();
            return;
        }

        WriteValue(json, root, root, seed, depth: 0);
    }

    private static void WriteValue(Utf8JsonWriter json, JsonElement schema, JsonElement root, ulong seed, int depth)
    {
        if (depth > 2 * HardDepth)
        {
            // Only self-referencing combinators get here (objects and arrays stop at HardDepth).
            json.WriteNullValue();
            return;
        }

        schema = Resolve(schema, root);
        if (schema.ValueKind == JsonValueKind.True || schema.ValueKind != JsonValueKind.Object)
        {
            json.WriteStringValue(Words(seed, 2));
            return;
        }

        if (schema.TryGetProperty("const", out var constant))
        {
            constant.WriteTo(json);
            return;
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            values[(int)(seed % (ulong)values.GetArrayLength())].WriteTo(json);
            return;
        }

        foreach (var combinator in (ReadOnlySpan<string>)["anyOf", "oneOf", "allOf"])
        {
            if (schema.TryGetProperty(combinator, out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
            {
                // Past the depth limit prefer a null alternative, so recursive structures stop.
                var chosen = options[0];
                if (depth >= MaxDepth)
                {
                    foreach (var option in options.EnumerateArray())
                    {
                        if (TypeOf(Resolve(option, root)) == "null")
                        {
                            chosen = option;
                        }
                    }
                }

                WriteValue(json, chosen, root, seed, depth + 1);
                return;
            }
        }

        switch (TypeOf(schema, preferNull: depth >= MaxDepth))
        {
            case "object":
                WriteObject(json, schema, root, seed, depth);
                break;
            case "array":
                WriteArray(json, schema, root, seed, depth);
                break;
            case "integer":
                json.WriteNumberValue(Integer(schema, seed));
                break;
            case "number":
                json.WriteNumberValue(Number(schema, seed));
                break;
            case "boolean":
                json.WriteBooleanValue((seed & 1) == 0);
                break;
            case "null":
                json.WriteNullValue();
                break;
            default:
                json.WriteStringValue(String(schema, seed));
                break;
        }
    }

    private static void WriteObject(Utf8JsonWriter json, JsonElement schema, JsonElement root, ulong seed, int depth)
    {
        json.WriteStartObject();
        if (depth < HardDepth && schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in properties.EnumerateObject())
            {
                json.WritePropertyName(property.Name);
                WriteValue(json, property.Value, root, StableHash.Mix(seed ^ StableHash.Fnv1aUtf8(property.Name)), depth + 1);
            }
        }

        json.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter json, JsonElement schema, JsonElement root, ulong seed, int depth)
    {
        var min = GetInt(schema, "minItems") ?? 0;
        var max = GetInt(schema, "maxItems") ?? int.MaxValue;
        var count = depth >= HardDepth ? 0 : depth >= MaxDepth ? min : Math.Clamp(1 + (int)(seed % 2), min, Math.Max(min, max));
        count = Math.Min(count, MaxItems);
        var items = schema.TryGetProperty("items", out var itemSchema) ? itemSchema : default;
        var unique = schema.TryGetProperty("uniqueItems", out var u) && u.ValueKind == JsonValueKind.True;

        json.WriteStartArray();
        for (var i = 0; i < count; i++)
        {
            // uniqueItems: consecutive seeds of enum items pick consecutive values; others differ by their seed.
            var itemSeed = unique ? seed + (ulong)i : StableHash.Mix(seed + (ulong)i);
            if (items.ValueKind == JsonValueKind.Undefined)
            {
                json.WriteStringValue(Words(itemSeed, 1) + (unique ? i.ToString(CultureInfo.InvariantCulture) : string.Empty));
            }
            else
            {
                WriteValue(json, items, root, itemSeed, depth + 1);
            }
        }

        json.WriteEndArray();
    }

    private static long Integer(JsonElement schema, ulong seed)
    {
        var min = (long)Math.Ceiling(GetDouble(schema, "minimum") ?? (GetDouble(schema, "exclusiveMinimum") + 1) ?? 0);
        var max = (long)Math.Floor(GetDouble(schema, "maximum") ?? (GetDouble(schema, "exclusiveMaximum") - 1) ?? min + 100);
        if (max < min)
        {
            max = min;
        }

        var span = max - min;
        var range = span is < 0 or >= 1_000_000 ? 1_000_000UL : (ulong)span + 1;
        var value = min + (long)(seed % range);
        if (GetDouble(schema, "multipleOf") is { } step && step >= 1 && step == Math.Floor(step))
        {
            var multiple = (long)step;
            var rounded = (long)Math.Ceiling(min / (double)multiple) * multiple;
            value = rounded <= max ? rounded : value;
        }

        return value;
    }

    private static double Number(JsonElement schema, ulong seed)
    {
        var low = GetDouble(schema, "minimum") ?? GetDouble(schema, "exclusiveMinimum") ?? 0;
        var high = GetDouble(schema, "maximum") ?? GetDouble(schema, "exclusiveMaximum") ?? low + 100;
        if (high < low)
        {
            high = low;
        }

        // A quarter-step grid strictly inside the range keeps exclusive bounds and gives short decimals.
        var fraction = 1 + (int)(seed % 3);
        var value = low + ((high - low) * fraction / 4);
        return Math.Round(value, 2) is var rounded && rounded > low && rounded < high ? rounded : value;
    }

    private static string String(JsonElement schema, ulong seed)
    {
        var format = schema.TryGetProperty("format", out var f) && f.ValueKind == JsonValueKind.String ? f.GetString() : null;
        var text = format switch
        {
            "date-time" => "2026-01-01T00:00:00Z",
            "date" => "2026-01-01",
            "time" => "12:00:00",
            "email" => Words(seed, 1) + "@example.com",
            "uri" or "url" => "https://example.com/" + Words(seed, 1),
            "uuid" => new Guid((int)seed, (short)(seed >> 32), (short)(seed >> 48), 0x8a, 0, 0, 0, 0, 0, 0, 1).ToString(),
            "hostname" => "example.com",
            "ipv4" => "192.0.2.1",
            _ => Words(seed, 1 + (int)(seed % 3)),
        };

        var min = Math.Min(GetInt(schema, "minLength") ?? 0, MaxStringLength);
        var max = GetInt(schema, "maxLength") ?? int.MaxValue;
        if (text.Length < min)
        {
            var padded = new System.Text.StringBuilder(text, min + 16);
            while (padded.Length < min)
            {
                padded.Append(' ').Append(Words(StableHash.Mix(seed + (ulong)padded.Length), 1));
            }

            text = padded.ToString();
        }

        return text.Length > max ? text[..Math.Max(max, min)] : text;
    }

    private static string Words(ulong seed, int count)
    {
        var words = new string[count];
        for (var i = 0; i < count; i++)
        {
            words[i] = WordList.GetString((int)(StableHash.Mix(seed + (ulong)i) % (ulong)WordList.Count));
        }

        return string.Join(' ', words);
    }

    private static string TypeOf(JsonElement schema, bool preferNull = false)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type))
        {
            return schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out _) ? "object"
                : schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("items", out _) ? "array"
                : "string";
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            return type.GetString()!;
        }

        if (type.ValueKind == JsonValueKind.Array)
        {
            string? first = null;
            foreach (var candidate in type.EnumerateArray())
            {
                var name = candidate.GetString();
                if (name == "null" && preferNull)
                {
                    return name;
                }

                if (name != "null" && first is null)
                {
                    first = name;
                }
            }

            return first ?? "null";
        }

        return "string";
    }

    /// <summary>Follows local <c>$ref</c>s (<c>#</c>, <c>#/$defs/X</c>, <c>#/definitions/X</c>, any JSON pointer into the root).</summary>
    private static JsonElement Resolve(JsonElement schema, JsonElement root)
    {
        for (var hops = 0; hops < 32 && schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String; hops++)
        {
            var pointer = reference.GetString()!;
            if (!pointer.StartsWith('#'))
            {
                break;
            }

            var target = root;
            foreach (var segment in pointer[1..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                var name = Uri.UnescapeDataString(segment).Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
                if (target.ValueKind != JsonValueKind.Object || !target.TryGetProperty(name, out target))
                {
                    return default;
                }
            }

            schema = target;
        }

        return schema;
    }

    private static int? GetInt(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var result) ? result : null;

    private static double? GetDouble(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}
