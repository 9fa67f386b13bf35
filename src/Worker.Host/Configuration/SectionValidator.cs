using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Worker.Host.Configuration;

/// <summary>
/// DataAnnotations (and <see cref="IValidatableObject"/>) validation whose failures name the configuration key,
/// e.g. <c>Worker:Concurrency: The field Concurrency must be between 1 and 4096.</c>
/// </summary>
internal sealed class SectionValidator<TOptions>(string section) : IValidateOptions<TOptions>
    where TOptions : class
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            return ValidateOptionsResult.Success;
        }

        return ValidateOptionsResult.Fail(results.Select(r =>
        {
            var member = r.MemberNames.FirstOrDefault();
            var message = r.ErrorMessage ?? "invalid value";
            return member is null || message.StartsWith(section + ":", StringComparison.Ordinal) ? message : $"{section}:{member}: {message}";
        }));
    }
}

internal static class SectionValidatorExtensions
{
    /// <summary>Binds <typeparamref name="TOptions"/> to <paramref name="section"/> and validates it at start, naming keys.</summary>
    public static OptionsBuilder<TOptions> AddValidatedSection<TOptions>(this IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
    {
        services.AddSingleton<IValidateOptions<TOptions>>(new SectionValidator<TOptions>(section));
        return services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }
}
