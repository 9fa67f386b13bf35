using System.Text;

namespace Worker.Connector.OpenAi;

/// <summary>
/// Folds <c>chat.completion.chunk</c> events into one <see cref="ChatCompletion"/>: content, refusal and tool-call
/// argument deltas per choice index, role, finish_reason and usage. A stream that carried an error event, or that
/// ended without <c>[DONE]</c> and without any finish_reason, is reported as failed, never as a short success.
/// </summary>
internal sealed class ChatCompletionAccumulator
{
    private readonly SortedDictionary<int, ChoiceState> _choices = [];
    private string? _id;
    private string? _model;
    private long? _created;
    private string? _fingerprint;
    private ChatUsage? _usage;
    private ErrorDto? _error;
    private bool _done;

    public void Add(ChunkDto chunk)
    {
        if (chunk.Error is not null)
        {
            _error ??= chunk.Error;
            return;
        }

        _id ??= chunk.Id;
        _model ??= chunk.Model;
        _created ??= chunk.Created;
        _fingerprint ??= chunk.SystemFingerprint;
        if (chunk.Usage is { } usage)
        {
            _usage = new ChatUsage(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);
        }

        if (chunk.Choices is null)
        {
            return;
        }

        foreach (var choice in chunk.Choices)
        {
            if (!_choices.TryGetValue(choice.Index, out var state))
            {
                state = new ChoiceState();
                _choices.Add(choice.Index, state);
            }

            state.Apply(choice.Delta ?? choice.Message);
            state.FinishReason = choice.FinishReason ?? state.FinishReason;
        }
    }

    public void MarkDone() => _done = true;

    /// <summary>The stream's id, model and created are known: later chunks' copies of them would change nothing.</summary>
    public bool HeaderKnown => _id is not null && _model is not null && _created is not null;

    public ChatCompletion Build(bool streamed)
    {
        if (_error is { } error)
        {
            throw OpenAiErrors.FromErrorObject(error, "in the stream");
        }

        var finished = false;
        foreach (var state in _choices.Values)
        {
            finished |= state.FinishReason is not null;
        }

        if (streamed && !_done && !finished)
        {
            throw new ConnectorException(ErrorClass.Transient,
                $"The completion stream was truncated: it ended without [DONE] and without a finish_reason ({_choices.Count} choice(s) partly received).");
        }

        var choices = new List<ChatChoice>(_choices.Count);
        foreach (var (index, state) in _choices)
        {
            choices.Add(state.ToChoice(index));
        }

        return new ChatCompletion
        {
            Id = _id,
            Model = _model,
            Created = _created,
            SystemFingerprint = _fingerprint,
            Choices = choices,
            Usage = _usage,
            Streamed = streamed,
        };
    }

    private sealed class ChoiceState
    {
        private readonly StringBuilder _content = new();
        private readonly SortedDictionary<int, ToolCallState> _toolCalls = [];
        private StringBuilder? _refusal;
        private bool _hasContent;

        public string? Role { get; private set; }
        public string? FinishReason { get; set; }

        public void Apply(MessageDto? delta)
        {
            if (delta is null)
            {
                return;
            }

            Role ??= delta.Role;
            if (delta.Content is not null)
            {
                _content.Append(delta.Content);
                _hasContent = true;
            }

            if (delta.Refusal is not null)
            {
                (_refusal ??= new StringBuilder()).Append(delta.Refusal);
            }

            if (delta.ToolCalls is null)
            {
                return;
            }

            for (var i = 0; i < delta.ToolCalls.Count; i++)
            {
                var call = delta.ToolCalls[i];
                // Streams index tool calls; whole messages may not, so their position stands in.
                var index = call.Index ?? i;
                if (!_toolCalls.TryGetValue(index, out var state))
                {
                    state = new ToolCallState();
                    _toolCalls.Add(index, state);
                }

                state.Id ??= call.Id;
                state.Type ??= call.Type;
                state.Name ??= call.Function?.Name;
                state.Arguments.Append(call.Function?.Arguments);
            }
        }

        public ChatChoice ToChoice(int index)
        {
            var calls = new List<ChatToolCall>(_toolCalls.Count);
            foreach (var (callIndex, call) in _toolCalls)
            {
                calls.Add(new ChatToolCall(callIndex, call.Id, call.Type, call.Name, call.Arguments.ToString()));
            }

            return new ChatChoice
            {
                Index = index,
                Role = Role ?? "assistant",
                Content = _hasContent ? _content.ToString() : null,
                Refusal = _refusal?.ToString(),
                FinishReason = FinishReason,
                ToolCalls = calls,
            };
        }
    }

    private sealed class ToolCallState
    {
        public string? Id { get; set; }
        public string? Type { get; set; }
        public string? Name { get; set; }
        public StringBuilder Arguments { get; } = new();
    }
}
