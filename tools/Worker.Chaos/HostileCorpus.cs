using System.Globalization;
using System.Text;
using Worker.Host.Contracts;

namespace Worker.Chaos;

/// <summary>What the contract says must happen to a message.</summary>
public enum HostileExpectation
{
    /// <summary>Poison: to the dead-letter exchange with <c>x-reject-reason</c> (plus a failed result when its id was readable).</summary>
    DeadLettered,

    /// <summary>Readable but invalid parameters: one failed result (class InvalidRequest), not dead-lettered.</summary>
    Failed,

    /// <summary>A valid job, however odd: one succeeded result.</summary>
    Succeeded,

    /// <summary>Valid to the parser but carrying bytes later stages may refuse: answered or dead-lettered, never lost.</summary>
    AnsweredOrDeadLettered,
}

/// <summary>One message of the corpus. <see cref="CaseId"/> travels as the AMQP message id (dead letters keep it).</summary>
/// <param name="CaseId">Unique per message.</param>
/// <param name="Kind">Family of the case (invalid-json, deep-nesting, ...).</param>
/// <param name="Body">The bytes published.</param>
/// <param name="Expected">What must happen.</param>
/// <param name="ResultId">The job id a result carries (the worker's parser can read one), or null.</param>
/// <param name="ParserOutcome">What the worker's own parser makes of the body (checked against <paramref name="Expected"/>).</param>
/// <param name="ParserException">The exception the parser threw instead of returning an outcome (a parser bug), if any.</param>
public sealed record HostileCase(string CaseId, string Kind, byte[] Body, HostileExpectation Expected, string? ResultId, JobOutcome? ParserOutcome, string? ParserException);

/// <summary>
/// A generated corpus of hostile job messages: invalid JSON, invalid UTF-8, huge strings, deep nesting, wrong types,
/// unknown fields, missing and duplicate ids, bodies over the size limit up to 10 MB, Batch lines; deterministic for a seed.
/// The expectation of each case comes from how it was built; the worker's own <see cref="JobParser"/> supplies the id a
/// result carries.
/// </summary>
public static class HostileCorpus
{
    /// <summary>The worker's default <c>Worker:MaxJobBytes</c>.</summary>
    public const int DefaultMaxJobBytes = 1024 * 1024;

    private const int TenMegabytes = 10 * 1024 * 1024;

    private static readonly (string Kind, int Weight, Func<Random, string, List<(byte[] Body, HostileExpectation Expected)>> Build)[] Kinds =
    [
        ("invalid-json", 140, (r, id) => [(InvalidJson(r, id), HostileExpectation.DeadLettered)]),
        ("invalid-utf8", 100, InvalidUtf8),
        ("not-object", 50, (r, id) => [(Utf8(Pick(r, "[]", T("""[{"id":"@0","prompt":"p"}]""", id), "\"just a string\"", "42", "null", "true", "false", "-0.5e10")), HostileExpectation.DeadLettered)]),
        ("missing-id", 60, (r, _) => [(Utf8(Pick(r, """{"prompt":"no id"}""", """{"id":null,"prompt":"null id"}""", """{"ID":"upper","prompt":"case matters"}""",
            """{"id":"","prompt":"empty id"}""", """{"Id":"x","prompt":"p"}""", """{"custom_id":null,"method":"POST","url":"/v1/chat/completions","body":{}}""")), HostileExpectation.DeadLettered)]),
        ("bad-id", 50, (r, _) => [(Utf8(Pick(r, """{"id":{},"prompt":"p"}""", """{"id":["a"],"prompt":"p"}""", """{"id":true,"prompt":"p"}""",
            T("""{"id":"@0","prompt":"p"}""", new string('x', 257)), """{"id":"a\u0001b","prompt":"p"}""", """{"id":"line\nbreak","prompt":"p"}""")), HostileExpectation.DeadLettered)]),
        ("wrong-types", 140, (r, id) => [(Utf8(WrongType(r, id)), HostileExpectation.DeadLettered)]),
        ("invalid-params", 100, (r, id) => [(Utf8(InvalidParameters(r, id)), HostileExpectation.Failed)]),
        ("unknown-fields", 120, (r, id) => [(Utf8(UnknownFields(r, id)), HostileExpectation.Succeeded)]),
        ("deep-nesting", 50, DeepNesting),
        ("huge-strings", 5, (r, id) => [(Utf8(HugeString(r, id)), HostileExpectation.Succeeded)]),
        ("duplicate-ids", 40, (r, id) => [(Utf8(Valid(id, $"first of a pair {r.Next()}")), HostileExpectation.Succeeded),
            (Utf8(Valid(id, $"second of a pair {r.Next()}")), HostileExpectation.Succeeded)]),
        ("duplicate-keys", 10, (r, id) => [(Utf8(T("""{"id":"@0-a","prompt":"one","id":"@1-b","prompt":"two @2"}""", id, id, r.Next())), HostileExpectation.Succeeded)]),
        ("too-large", 3, (r, id) => [(Padded(id, DefaultMaxJobBytes + 1 + r.Next(0, DefaultMaxJobBytes)), HostileExpectation.DeadLettered)]),
        ("header-bound", 20, (r, id) => [(Utf8(HeaderBound(r, id)), HostileExpectation.DeadLettered)]),
        ("numeric-id", 30, (r, _) => [(Utf8(T("""{"id":@0,"prompt":"numeric id @1"}""", Pick(r, r.Next(1, 1_000_000).ToString(CultureInfo.InvariantCulture), "-7", "1.5", "1e3", "0"), r.Next())), HostileExpectation.Succeeded)]),
        ("batch", 50, (r, id) => [(Utf8(T("""{"custom_id":"@0","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"batch @1"}],"max_tokens":20,"seed":1}}""", id, r.Next())), HostileExpectation.Succeeded)]),
        ("control-chars", 52, ControlCharacters),
    ];

    /// <summary>
    /// <paramref name="count"/> cases (at least; a duplicate-id pair counts two) of which exactly
    /// <paramref name="tenMegabyteBodies"/> are 10 MB bodies.
    /// </summary>
    public static List<HostileCase> Generate(int count, int seed, int tenMegabyteBodies = 5)
    {
        var random = new Random(seed);
        var parser = new JobParser(DefaultMaxJobBytes, "default", defaultStream: true);
        var total = Kinds.Sum(k => k.Weight);
        var cases = new List<HostileCase>(count);
        var n = 0;
        var tenMegabyteAt = new Queue<int>(Enumerable.Range(0, tenMegabyteBodies).Select(_ => random.Next(Math.Max(1, count))).Order());
        while (cases.Count < count || tenMegabyteAt.Count > 0)
        {
            var id = $"h{n:D5}";
            if (tenMegabyteAt.TryPeek(out var at) && (cases.Count >= at || cases.Count >= count))
            {
                tenMegabyteAt.Dequeue();
                Add(cases, parser, $"case-{n:D5}", "ten-megabytes", Padded(id, TenMegabytes), HostileExpectation.DeadLettered);
                n++;
                continue;
            }

            var pick = random.Next(total);
            var kind = Kinds[0];
            foreach (var candidate in Kinds)
            {
                if (pick < candidate.Weight)
                {
                    kind = candidate;
                    break;
                }

                pick -= candidate.Weight;
            }

            var built = kind.Build(random, id);
            for (var i = 0; i < built.Count; i++)
            {
                Add(cases, parser, built.Count == 1 ? $"case-{n:D5}" : $"case-{n:D5}-{i}", kind.Kind, built[i].Body, built[i].Expected);
            }

            n++;
        }

        return cases;
    }

    /// <summary>Small poison messages (no 10 MB ones) for the chaos run: each must be dead-lettered once with a reason.</summary>
    public static List<HostileCase> Poison(int count, int seed)
    {
        var random = new Random(seed);
        var parser = new JobParser(DefaultMaxJobBytes, "default", defaultStream: true);
        var cases = new List<HostileCase>(count);
        for (var n = 0; cases.Count < count; n++)
        {
            var id = $"poison-{n:D4}";
            var body = (n % 6) switch
            {
                0 => InvalidJson(random, id),
                1 => Utf8(WrongType(random, id)),
                2 => Utf8("""{"prompt":"no id at all"}"""),
                3 => Utf8(Pick(random, "[]", "42", "null", "\"text\"")),
                4 => Concat(Utf8(T("""{"id":"@0","prompt":"bad """, id)), [0xC3, 0x28], Utf8("\"}")),
                _ => n % 12 == 5 ? Padded(id, DefaultMaxJobBytes + 1 + random.Next(1000)) : Utf8(T("""{"id":"@0","prompt":"p","version":2}""", id)),
            };
            Add(cases, parser, $"poison-{n:D4}", "poison", body, HostileExpectation.DeadLettered);
        }

        return cases;
    }

    /// <summary>A valid job in our form.</summary>
    public static string Valid(string id, string prompt) => T("""{"id":"@0","prompt":"@1"}""", id, prompt);

    private static void Add(List<HostileCase> cases, JobParser parser, string caseId, string kind, byte[] body, HostileExpectation expected)
    {
        try
        {
            var parsed = parser.Parse(body);
            cases.Add(new HostileCase(caseId, kind, body, expected, parsed.Id, parsed.Rejection ?? JobOutcome.Succeeded, null));
        }
        catch (Exception ex)
        {
            // The parser promises an outcome for any body; an exception is a finding, recorded for the test to report.
            cases.Add(new HostileCase(caseId, kind, body, expected, null, null, $"{ex.GetType().Name}: {ex.Message}"));
        }
    }

    private static byte[] InvalidJson(Random r, string id)
    {
        var full = T("""{"id":"@0","prompt":"truncated @1","metadata":{"a":[1,2,3],"b":"x"}}""", id, r.Next());
        return r.Next(13) switch
        {
            0 => Utf8(full[..r.Next(0, full.Length)]),
            1 => Utf8(new string(Enumerable.Range(0, r.Next(1, 200)).Select(_ => (char)r.Next(0x21, 0x7F)).ToArray()).Replace('[', '(').Replace('{', '(') + "{"),
            2 => Utf8(full + " trailing"),
            3 => Utf8($"{{'id':'{id}','prompt':'single quotes'}}"),
            4 => Utf8(T("""{"id":"@0","prompt":"trailing comma",}""", id)),
            5 => Utf8(T("""/* comment */{"id":"@0","prompt":"c"}""", id)),
            6 => Utf8(Pick(r, "", " ", "\n\t  ")),
            7 => Utf8(T("""{"id":"@0","prompt":"nan","params":{"temperature":NaN}}""", id)),
            8 => Utf8(T("""{"id":"@0","prompt":"unterminated""", id)),
            9 => Utf8(T("""{"id":"@0","prompt":"bad \q escape"}""", id)),
            10 => Concat(Utf8(T("""{"id":"@0","prompt":"raw""", id)), [0x01], Utf8("control\"}")),
            11 => Concat([0xFF, 0xFE], Encoding.Unicode.GetBytes(full)),
            _ => Concat(Utf8(full[..(full.Length / 2)]), [0x00], Utf8(full[(full.Length / 2)..])),
        };
    }

    private static List<(byte[] Body, HostileExpectation Expected)> InvalidUtf8(Random r, string id)
    {
        byte[][] bad = [[0xC3, 0x28], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xE2, 0x82], [0xFF], [0xF8, 0x88, 0x80, 0x80, 0x80]];
        var b = bad[r.Next(bad.Length)];
        var (body, expected) = r.Next(8) switch
        {
            0 => (Concat(Utf8(T("""{"id":"@0","prompt":"ab""", id)), b, Utf8("cd\"}")), HostileExpectation.DeadLettered),
            1 => (Concat(Utf8("""{"id":"ab"""), b, Utf8("\",\"prompt\":\"p\"}")), HostileExpectation.DeadLettered),
            2 => (Concat(Utf8(T("""{"id":"@0",""", id)), b, Utf8("\"prompt\":\"p\"}")), HostileExpectation.DeadLettered),
            3 => (Concat(Utf8(T("""{"id":"@0","messages":[{"role":"user","content":"x""", id)), b, Utf8("\"}]}")), HostileExpectation.DeadLettered),
            4 => (Concat(Utf8(T("""{"id":"@0","prompt":"p","params":{""", id) + "\""), b, Utf8("\":1}}")), HostileExpectation.DeadLettered),
            5 => (Concat(Utf8(T("""{"id":"@0","prompt":"p","metadata":{"k":""", id) + "\""), b, Utf8("\"}}")), HostileExpectation.AnsweredOrDeadLettered),
            6 => (Concat(Utf8(T("""{"id":"@0","prompt":"p","params":{"user":""", id) + "\""), b, Utf8("\"}}")), HostileExpectation.AnsweredOrDeadLettered),
            _ => (Concat(Utf8(T("""{"id":"@0","prompt":"p","junk":""", id) + "\""), b, Utf8("\"}")), HostileExpectation.AnsweredOrDeadLettered),
        };
        return [(body, expected)];
    }

    private static string WrongType(Random r, string id) => Pick(r,
        T("""{"id":"@0","prompt":42}""", id),
        T("""{"id":"@0","prompt":{"text":"p"}}""", id),
        T("""{"id":"@0","messages":"hi"}""", id),
        T("""{"id":"@0","messages":{"role":"user"}}""", id),
        T("""{"id":"@0","messages":[1,2]}""", id),
        T("""{"id":"@0","messages":[{"content":"no role"}]}""", id),
        T("""{"id":"@0","messages":[{"role":5,"content":"x"}]}""", id),
        T("""{"id":"@0","messages":[{"role":"user","content":5}]}""", id),
        T("""{"id":"@0","messages":[{"role":"user","content":[{"type":"text","text":"multimodal"}]}]}""", id),
        T("""{"id":"@0","prompt":"p","stream":"yes"}""", id),
        T("""{"id":"@0","prompt":"p","stream":1}""", id),
        T("""{"id":"@0","prompt":"p","params":{"temperature":"hot"}}""", id),
        T("""{"id":"@0","prompt":"p","params":[]}""", id),
        T("""{"id":"@0","prompt":"p","params":"x"}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":1.5}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":"10"}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":1e20}}""", id),
        T("""{"id":"@0","prompt":"p","tenant":5}""", id),
        T("""{"id":"@0","prompt":"p","model":7}""", id),
        T("""{"id":"@0","prompt":"p","version":2}""", id),
        T("""{"id":"@0","prompt":"p","version":"1"}""", id),
        T("""{"custom_id":"@0","method":"POST","url":"/v1/chat/completions","body":"not an object"}""", id),
        T("""{"custom_id":"@0","method":5,"url":"/v1/chat/completions","body":{}}""", id));

    /// <summary>Fields that would end up in the result's AMQP properties or headers, over their bounds (cases 1–2 of «Hostile input»).</summary>
    private static string HeaderBound(Random r, string id) => Pick(r,
        T("""{"id":"@0","tenant":"@1","prompt":"p"}""", id, new string('t', 200 * 1024)),
        T("""{"id":"@0","tenant":"@1","prompt":"p"}""", id, new string('t', 129)),
        T("""{"id":"@0","tenant":"line\nbreak","prompt":"p"}""", id),
        T("""{"id":"@0","tenant":"","prompt":"p"}""", id),
        T("""{"id":"@0","prompt":"p"}""", string.Concat(Enumerable.Repeat("\u20ac", 86))),
        T("""{"id":"@0","prompt":"p"}""", new string('x', 256)));

    private static string InvalidParameters(Random r, string id) => Pick(r,
        T("""{"id":"@0","prompt":"p","params":{"temperature":5}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"temperature":-0.1}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":0}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":-3}}""", id),
        T("""{"id":"@0","messages":[{"role":"robot","content":"x"}]}""", id),
        T("""{"id":"@0"}""", id),
        T("""{"id":"@0","messages":[]}""", id),
        T("""{"id":"@0","prompt":null}""", id),
        T("""{"custom_id":"@0","method":"GET","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}]}}""", id),
        T("""{"custom_id":"@0","method":"POST","url":"/v1/embeddings","body":{"messages":[{"role":"user","content":"x"}]}}""", id),
        T("""{"custom_id":"@0","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini"}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"n":128}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_tokens":10000000}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"max_completion_tokens":10000000}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"store":true}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"service_tier":"priority"}}""", id),
        T("""{"id":"@0","prompt":"p","params":{"logprobs":true,"top_logprobs":20}}""", id),
        T("""{"custom_id":"@0","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"x"}],"n":64}}""", id));

    private static string UnknownFields(Random r, string id) => Pick(r,
        T("""{"id":"@0","prompt":"unknown fields @1","foo":1,"bar":{"x":[1,2,{"y":null}]},"baz":"\u00e9\u4e2d\ud83d\ude00","priority":"high"}""", id, r.Next()),
        T("""{"id":"@0","prompt":"unknown params @1","params":{"user":"u-1","seed":7}}""", id, r.Next()),
        T("""{"id":"@0","prompt":"typed params @1","params":{"temperature":0.5,"max_tokens":5}}""", id, r.Next()),
        T("""{"id":"@0","tenant":"t-@1","model":"gpt-4o","stream":false,"prompt":"non-streaming @2","metadata":{"trace":[1,"two",{"three":3.0}],"empty":{}}}""", id, r.Next(5), r.Next()),
        T("""{"version":1,"id":"@0","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"with messages @1","name":"alice"}],"prompt":"and a prompt"}""", id, r.Next()),
        T("""{"id":"@0","prompt":"\u00fcnicode \u2603 @1","metadata":null,"params":null,"messages":null}""", id, r.Next()));

    private static List<(byte[] Body, HostileExpectation Expected)> DeepNesting(Random r, string id)
    {
        string Nest(int depth) => string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
        return r.Next(5) switch
        {
            0 => [(Utf8(T("""{"id":"@0","prompt":"deep","metadata":@1}""", id, Nest(70))), HostileExpectation.DeadLettered)],
            1 => [(Utf8(new string('[', 100_000)), HostileExpectation.DeadLettered)],
            2 => [(Utf8(string.Concat(Enumerable.Repeat("{\"a\":", 5000))), HostileExpectation.DeadLettered)],
            _ => [(Utf8(T("""{"id":"@0","prompt":"nested metadata @1","metadata":@2}""", id, r.Next(), Nest(40))), HostileExpectation.Succeeded)],
        };
    }

    private static string HugeString(Random r, string id)
    {
        var words = new StringBuilder();
        var target = r.Next(100_000, 600_000);
        while (words.Length < target)
        {
            words.Append("word").Append(r.Next(1000)).Append(' ');
        }

        return r.Next(3) switch
        {
            0 => T("""{"id":"@0","prompt":"@1"}""", id, words),
            1 => T("""{"id":"@0","prompt":"short prompt, long unknown field","padding":"@1"}""", id, words),
            _ => T("""{"id":"@0","prompt":"long metadata echoed","metadata":{"blob":"@1"}}""", id, words),
        };
    }

    private static List<(byte[] Body, HostileExpectation Expected)> ControlCharacters(Random r, string id) => r.Next(3) switch
    {
        0 => [(Utf8(T("""{"id":"@0","prompt":"nul \u0000 bell \u0007 esc \u001b @1"}""", id, r.Next())), HostileExpectation.Succeeded)],
        1 => [(Utf8(T("""{"id":"@0","prompt":"lone surrogate \ud800 @1"}""", id, r.Next())), HostileExpectation.AnsweredOrDeadLettered)],
        _ => [(Concat(Utf8(T("""{"id":"@0","prompt":"raw""", id)), [0x1F], Utf8("\"}")), HostileExpectation.DeadLettered)],
    };

    /// <summary>A syntactically valid job padded with spaces to exactly <paramref name="size"/> bytes.</summary>
    private static byte[] Padded(string id, int size)
    {
        var head = Utf8(T("""{"id":"@0","prompt":"padded","pad":""", id) + "\"");
        var tail = Utf8("\"}");
        var body = new byte[size];
        head.CopyTo(body, 0);
        body.AsSpan(head.Length, size - head.Length - tail.Length).Fill((byte)'x');
        tail.CopyTo(body, size - tail.Length);
        return body;
    }

    /// <summary>Fills @0, @1, ... in a JSON template (raw literals keep the braces readable).</summary>
    private static string T(string template, params object[] values)
    {
        for (var i = values.Length - 1; i >= 0; i--)
        {
            template = template.Replace("@" + i.ToString(CultureInfo.InvariantCulture), Convert.ToString(values[i], CultureInfo.InvariantCulture), StringComparison.Ordinal);
        }

        return template;
    }

    private static string Pick(Random r, params string[] options) => options[r.Next(options.Length)];

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Concat(params byte[][] parts)
    {
        var result = new byte[parts.Sum(p => p.Length)];
        var offset = 0;
        foreach (var part in parts)
        {
            part.CopyTo(result, offset);
            offset += part.Length;
        }

        return result;
    }
}
