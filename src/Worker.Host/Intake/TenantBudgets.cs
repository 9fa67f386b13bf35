namespace Worker.Host.Intake;

/// <summary>
/// Tokens per minute per tenant (<c>Llm:Limits:Tenants</c>), as buckets holding one minute's budget. A job over its
/// tenant's budget is told how long to wait; jobs already sent away to wait are counted, so a flood of them comes
/// back spread over time instead of all at once. Charges are corrected with the usage the endpoint reports. Pure.
/// </summary>
internal sealed class TenantBudgets
{
    private readonly Dictionary<string, Budget> _budgets = new(StringComparer.Ordinal);

    public TenantBudgets(IEnumerable<KeyValuePair<string, long>> tokensPerMinute, TimeSpan now)
    {
        foreach (var (tenant, budget) in tokensPerMinute)
        {
            var bucket = new RateBucket();
            bucket.SetLimit(budget, now);
            _budgets[tenant] = new Budget(bucket);
        }
    }

    public bool Has(string tenant) => _budgets.ContainsKey(tenant);

    /// <summary>Charges <paramref name="tokens"/> and returns zero, or returns how long until the tenant's budget allows them (and counts them as waiting).</summary>
    public TimeSpan TryTake(string tenant, double tokens, TimeSpan now)
    {
        if (!_budgets.TryGetValue(tenant, out var budget))
        {
            return TimeSpan.Zero;
        }

        budget.Bucket.Refill(now, 1);
        budget.Waiting.RemoveAll(w => w.Due <= now);
        var waitingTokens = budget.Waiting.Sum(w => w.Tokens);
        var wait = budget.Bucket.TimeUntil(Math.Min(tokens, budget.Bucket.Capacity) + waitingTokens, 1);
        if (wait == TimeSpan.Zero)
        {
            budget.Bucket.Take(tokens);
            return TimeSpan.Zero;
        }

        budget.Waiting.Add((now + wait, tokens));
        return wait;
    }

    /// <summary>Corrects a charge once the real usage is known (positive: it cost more than estimated).</summary>
    public void Adjust(string tenant, double difference)
    {
        if (_budgets.TryGetValue(tenant, out var budget))
        {
            budget.Bucket.Take(difference);
        }
    }

    /// <summary>The per-minute budget of a tenant (0 = none).</summary>
    public long BudgetOf(string tenant) => _budgets.TryGetValue(tenant, out var budget) ? budget.Bucket.LimitPerMinute : 0;

    private sealed record Budget(RateBucket Bucket)
    {
        public List<(TimeSpan Due, double Tokens)> Waiting { get; } = [];
    }
}
