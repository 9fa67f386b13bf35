namespace Worker.Host.Cli;

/// <summary>A one-line progress bar on stderr (redrawn in place on a terminal, one line per 10% otherwise).</summary>
internal sealed class ProgressBar
{
    private const int Width = 30;
    private readonly string _label;
    private readonly int _total;
    private readonly TextWriter _out;
    private readonly bool _interactive;
    private int _lastDecile = -1;

    public ProgressBar(string label, int total, TextWriter? output = null)
    {
        _label = label;
        _total = Math.Max(total, 1);
        _out = output ?? Console.Error;
        _interactive = output is null && !Console.IsErrorRedirected;
    }

    public void Report(int done, string? suffix = null)
    {
        var filled = (int)((long)done * Width / _total);
        var line = $"{_label} [{new string('#', filled)}{new string('.', Width - filled)}] {done}/{_total}{(suffix is null ? "" : " " + suffix)}";
        if (_interactive)
        {
            _out.Write("\r" + line);
            if (done >= _total)
            {
                _out.WriteLine();
            }

            return;
        }

        var decile = (int)((long)done * 10 / _total);
        if (decile != _lastDecile)
        {
            _lastDecile = decile;
            _out.WriteLine(line);
        }
    }
}
