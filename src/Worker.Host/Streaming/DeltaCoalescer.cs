using System.Text;

namespace Worker.Host.Streaming;

/// <summary>
/// When a job's streamed text becomes a delta, without clocks or I/O: pieces are collected until
/// <c>maxPieces</c> arrived or <c>interval</c> passed since the last delta (or the attempt's start), then taken as one
/// numbered delta. While a publish is slow, pieces keep collecting, so a slow broker gets fewer, larger deltas.
/// Not thread-safe: its owner serialises calls.
/// </summary>
public sealed class DeltaCoalescer
{
    private readonly TimeSpan _interval;
    private readonly int _maxPieces;
    private readonly StringBuilder _pending = new();
    private int _pieces;
    private int _seq;
    private TimeSpan _since;

    public DeltaCoalescer(TimeSpan interval, int maxPieces)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPieces, 1);
        _interval = interval;
        _maxPieces = maxPieces;
    }

    /// <summary>The attempt whose text is being collected (0 before the first).</summary>
    public int Attempt { get; private set; }

    public bool HasPending => _pending.Length > 0;

    /// <summary>A new attempt's stream starts: numbering restarts at 0, and what the previous attempt left unsent is dropped.</summary>
    public void BeginAttempt(int attempt, TimeSpan now)
    {
        Attempt = attempt;
        _seq = 0;
        _pieces = 0;
        _pending.Clear();
        _since = now;
    }

    /// <summary>Adds a piece; true when that made a delta due by count.</summary>
    public bool Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0)
        {
            return false;
        }

        _pending.Append(text);
        return ++_pieces >= _maxPieces;
    }

    /// <summary>Null when nothing is pending; else how long until a delta is due (zero: now).</summary>
    public TimeSpan? DueIn(TimeSpan now)
    {
        if (_pending.Length == 0)
        {
            return null;
        }

        if (_pieces >= _maxPieces)
        {
            return TimeSpan.Zero;
        }

        var left = _since + _interval - now;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Takes what is pending as the next delta (attempt, seq, text); false when nothing is.</summary>
    public bool TryTake(TimeSpan now, out (int Attempt, int Seq, string Content) delta)
    {
        if (_pending.Length == 0)
        {
            delta = default;
            return false;
        }

        delta = (Attempt, _seq++, _pending.ToString());
        _pending.Clear();
        _pieces = 0;
        _since = now;
        return true;
    }
}
