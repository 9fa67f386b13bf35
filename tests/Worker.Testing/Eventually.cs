namespace Worker.Testing;

/// <summary>Waiting for a condition in a test: polls without blocking a thread, returns the last answer.</summary>
public static class Eventually
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Polls <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static Task<bool> TrueAsync(Func<bool> condition, TimeSpan timeout) =>
        TrueAsync(() => Task.FromResult(condition()), timeout);

    /// <summary>Polls an asynchronous <paramref name="condition"/> until it holds or <paramref name="timeout"/> passes.</summary>
    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                return false;
            }

            await Task.Delay(Interval);
        }

        return true;
    }

    /// <summary>Polls <paramref name="find"/> until it returns a value or <paramref name="timeout"/> passes (then null).</summary>
    public static async Task<T?> FindAsync<T>(Func<T?> find, TimeSpan timeout)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(find);
        T? found = null;
        await TrueAsync(() => (found = find()) is not null, timeout);
        return found;
    }
}
