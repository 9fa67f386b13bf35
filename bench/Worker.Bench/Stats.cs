using System.Globalization;
using System.Text.Json.Serialization;

namespace Worker.Bench;

/// <summary>Min, median and max of one figure over the rounds of a run, plus the raw per-round values.</summary>
public sealed record Spread(double Min, double Median, double Max, IReadOnlyList<double> Rounds)
{
    public static Spread Of(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return new Spread(double.NaN, double.NaN, double.NaN, []);
        }

        return new Spread(sorted[0], MedianOf(sorted), sorted[^1], [.. values]);
    }

    [JsonIgnore]
    public bool IsEmpty => Rounds.Count == 0;

    /// <summary>"median (min–max)" with the given number format.</summary>
    public string Format(string format = "0.0", double scale = 1)
    {
        if (IsEmpty)
        {
            return "n/a";
        }

        var c = CultureInfo.InvariantCulture;
        return $"{(Median * scale).ToString(format, c)} ({(Min * scale).ToString(format, c)}–{(Max * scale).ToString(format, c)})";
    }

    private static double MedianOf(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}

/// <summary>Latency samples (Stopwatch ticks) → percentiles.</summary>
public static class Percentiles
{
    /// <summary>The p-th percentile (nearest rank) of <paramref name="sortedTicks"/>, in microseconds.</summary>
    public static double Micros(long[] sortedTicks, double p)
    {
        if (sortedTicks.Length == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * sortedTicks.Length) - 1;
        var ticks = sortedTicks[Math.Clamp(rank, 0, sortedTicks.Length - 1)];
        return ticks * 1_000_000.0 / System.Diagnostics.Stopwatch.Frequency;
    }
}
