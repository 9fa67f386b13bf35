using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Worker.Runtime.Tests.Support;

/// <summary>Collects every log line (message, scopes and structured values as text) for assertions.</summary>
public sealed class ListLoggerProvider : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<(LogLevel Level, EventId EventId, string Text)> Lines { get; } = new();

    public static ILoggerFactory CreateFactory(ListLoggerProvider provider) =>
        LoggerFactory.Create(builder => builder.AddProvider(provider).SetMinimumLevel(LogLevel.Trace));

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = new System.Text.StringBuilder(formatter(state, exception));
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                foreach (var (key, value) in values)
                {
                    text.Append(" | ").Append(key).Append('=').Append(value);
                }
            }

            owner._scopes.ForEachScope((scope, sb) => sb.Append(" [scope ").Append(scope).Append(']'), text);
            owner.Lines.Enqueue((logLevel, eventId, text.ToString()));
        }
    }
}
