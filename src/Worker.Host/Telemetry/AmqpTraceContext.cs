using System.Diagnostics;
using System.Text;

namespace Worker.Host.Telemetry;

/// <summary>W3C trace context in AMQP headers (values arrive from the broker as byte[]; we write strings).</summary>
public static class AmqpTraceContext
{
    public static ActivityContext Extract(IDictionary<string, object?>? headers)
    {
        if (headers is null)
        {
            return default;
        }

        DistributedContextPropagator.Current.ExtractTraceIdAndState(headers, Getter, out var traceParent, out var traceState);
        return ActivityContext.TryParse(traceParent, traceState, out var context) ? context : default;
    }

    public static void Inject(Activity? activity, IDictionary<string, object?> headers)
    {
        if (activity is not null)
        {
            DistributedContextPropagator.Current.Inject(activity, headers, static (carrier, name, value) =>
            {
                if (carrier is IDictionary<string, object?> dictionary)
                {
                    dictionary[name] = value;
                }
            });
        }
    }

    private static void Getter(object? carrier, string name, out string? value, out IEnumerable<string>? values)
    {
        values = null;
        value = carrier is IDictionary<string, object?> headers && headers.TryGetValue(name, out var raw)
            ? raw switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                string text => text,
                _ => null,
            }
            : null;
    }
}
