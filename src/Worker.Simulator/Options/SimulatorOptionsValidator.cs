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
}
