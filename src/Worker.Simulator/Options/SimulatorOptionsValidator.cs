using Microsoft.Extensions.Options;
using Worker.Simulator.Faults;

namespace Worker.Simulator.Options;

/// <summary>Checks option values at start-up; every message names the configuration key so a bad value is easy to find.</summary>
internal sealed class SimulatorOptionsValidator : IValidateOptions<SimulatorOptions>
{
    public ValidateOptionsResult Validate(string? name, SimulatorOptions options)
    {
        var failures = new List<string>();
        const string Prefix = SimulatorOptions.SectionName + ":";

        if (options.Latency is null)
        {
            failures.Add($"{Prefix}Latency must not be null.");
        }
        else
        {
            if (options.Latency.TimeToFirstTokenMs < 0)
            {
                failures.Add($"{Prefix}Latency:TimeToFirstTokenMs must be >= 0 (was {options.Latency.TimeToFirstTokenMs}).");
            }

            if (options.Latency.TimePerTokenMs < 0)
            {
                failures.Add($"{Prefix}Latency:TimePerTokenMs must be >= 0 (was {options.Latency.TimePerTokenMs}).");
            }
        }

        if (options.Faults is null)
        {
            failures.Add($"{Prefix}Faults must not be null.");
        }
        else
        {
            var rate = options.Faults.Rate;
            if (double.IsNaN(rate) || rate < 0 || rate > 1)
            {
                failures.Add($"{Prefix}Faults:Rate must be between 0 and 1 (was {rate.ToString(System.Globalization.CultureInfo.InvariantCulture)}).");
            }

            if (options.Faults.RetryAfterSeconds < 0)
            {
                failures.Add($"{Prefix}Faults:RetryAfterSeconds must be >= 0 (was {options.Faults.RetryAfterSeconds}).");
            }

            foreach (var mode in options.Faults.Modes ?? [])
            {
                if (!FaultModeNames.TryParse(mode, out var parsed) || parsed == FaultMode.None)
                {
                    failures.Add($"{Prefix}Faults:Modes contains unknown mode '{mode}'. Known modes: {FaultModeNames.FaultNames}.");
                }
            }
        }

        ValidateRateLimits(options.RateLimits, failures);
        ValidateCapacity(options.Capacity, failures);

        foreach (var model in options.Models ?? [])
        {
            if (string.IsNullOrWhiteSpace(model))
            {
                failures.Add($"{Prefix}Models must not contain empty model ids.");
                break;
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateRateLimits(RateLimitOptions? limits, List<string> failures)
    {
        const string Prefix = SimulatorOptions.SectionName + ":RateLimits:";
        if (limits is null)
        {
            failures.Add($"{SimulatorOptions.SectionName}:RateLimits must not be null.");
            return;
        }

        if (limits.RequestsPerMinute < 0)
        {
            failures.Add($"{Prefix}RequestsPerMinute must be >= 0 (was {limits.RequestsPerMinute}).");
        }

        if (limits.TokensPerMinute < 0)
        {
            failures.Add($"{Prefix}TokensPerMinute must be >= 0 (was {limits.TokensPerMinute}).");
        }

        if (limits.DefaultMaxTokens < 0)
        {
            failures.Add($"{Prefix}DefaultMaxTokens must be >= 0 (was {limits.DefaultMaxTokens}).");
        }

        var probability = limits.RetryAfterProbability;
        if (double.IsNaN(probability) || probability < 0 || probability > 1)
        {
            failures.Add($"{Prefix}RetryAfterProbability must be between 0 and 1 (was {Format(probability)}).");
        }

        var burst = limits.BurstSeconds;
        if (!double.IsFinite(burst) || burst <= 0)
        {
            failures.Add($"{Prefix}BurstSeconds must be > 0 (was {Format(burst)}).");
            return;
        }

        // A bucket smaller than one request would refuse everything, for ever.
        if (limits.RequestsPerMinute > 0 && limits.RequestsPerMinute * burst / 60 < 1)
        {
            failures.Add($"{Prefix}BurstSeconds is too small: RequestsPerMinute × BurstSeconds / 60 must be >= 1 (was {Format(limits.RequestsPerMinute * burst / 60)}), or no request would ever fit.");
        }

        if (limits.TokensPerMinute > 0 && limits.TokensPerMinute * burst / 60 < 1)
        {
            failures.Add($"{Prefix}BurstSeconds is too small: TokensPerMinute × BurstSeconds / 60 must be >= 1 (was {Format(limits.TokensPerMinute * burst / 60)}), or no request would ever fit.");
        }
    }

    private static void ValidateCapacity(CapacityOptions? capacity, List<string> failures)
    {
        const string Prefix = SimulatorOptions.SectionName + ":Capacity:";
        if (capacity is null)
        {
            failures.Add($"{SimulatorOptions.SectionName}:Capacity must not be null.");
            return;
        }

        if (capacity.MaxConcurrent < 0)
        {
            failures.Add($"{Prefix}MaxConcurrent must be >= 0 (was {capacity.MaxConcurrent}).");
        }

        if (!Enum.IsDefined(capacity.Overflow))
        {
            failures.Add($"{Prefix}Overflow must be Queue or Reject (was {(int)capacity.Overflow}).");
        }
    }

    private static string Format(double value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
