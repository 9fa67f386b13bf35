using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Worker.Host;
using Worker.Host.Cli;
using Worker.Hosting;

// One executable: the worker (`run`, the default) and its tools. Configuration overrides (--Section:Key=value) are
// split off first and go to the host; everything else must be a known command or option (exit codes: src/Shared/ExitCodes.cs).
var (cliArgs, configArgs) = HostArguments.Split(args);
var root = new RootCommand("LLM prompt worker: jobs from RabbitMQ through the connector runtime to a results exchange. " +
    "Configuration overrides: --Section:Key=value (e.g. --Worker:Concurrency=16).");

var run = new Command("run", "Run the worker (default).");
root.Subcommands.Add(run);
root.SetAction((_, ct) => RunWorkerAsync(configArgs, ct));
run.SetAction((_, ct) => RunWorkerAsync(configArgs, ct));

var prompt = new Argument<string?>("prompt") { Arity = ArgumentArity.ZeroOrOne, Description = "The prompt (one user message)." };
var file = new Option<FileInfo?>("--file", "-f") { Description = "A JSONL file of jobs (our form or OpenAI Batch form), sent unchanged." };
var count = new Option<int>("--count", "-n") { Description = "Enqueue the prompt this many times.", DefaultValueFactory = _ => 1 };
var model = new Option<string?>("--model", "-m") { Description = "Model (default: Llm:Model)." };
var tenant = new Option<string?>("--tenant", "-t") { Description = "Tenant (default: Worker:DefaultTenant)." };
var wait = new Option<bool>("--wait", "-w") { Description = "Wait for the results and write them to --output." };
var output = new Option<FileInfo?>("--output", "-o") { Description = "Where --wait writes results (JSONL). Default results-<time>.jsonl." };
var timeout = new Option<TimeSpan>("--timeout") { Description = "How long --wait waits.", DefaultValueFactory = _ => TimeSpan.FromMinutes(10) };
var show = new Option<bool>("--show", "-s") { Description = "With --wait, print each completion as it arrives." };
var endpoint = new Option<string?>("--endpoint", "-e") { Description = "Send the prompt to this named endpoint (Llm:Endpoints:<name>, or default); pinned: no fallback." };
var enqueue = new Command("enqueue", "Put prompt jobs on the jobs queue.") { prompt, file, count, model, tenant, wait, output, timeout, show, endpoint };
enqueue.SetAction((parse, ct) => new EnqueueCommand(CliConfiguration.Load(configArgs)).RunAsync(
    new EnqueueCommand.Arguments(parse.GetValue(prompt), parse.GetValue(file), parse.GetValue(count), parse.GetValue(model),
        parse.GetValue(tenant), parse.GetValue(wait), parse.GetValue(output), parse.GetValue(timeout), parse.GetValue(show), parse.GetValue(endpoint)),
    ct));
root.Subcommands.Add(enqueue);

var follow = new Option<bool>("--follow", "-F") { Description = "Keep printing results, and live deltas as [id #seq] lines, as they arrive (Ctrl+C to stop)." };
var queue = new Option<string?>("--queue", "-q") { Description = "Queue to read (default: RabbitMq:ResultsQueue)." };
var results = new Command("results", "Print results from the results queue (consumes them).") { follow, queue };
results.SetAction((parse, ct) => new ResultsCommand(CliConfiguration.Load(configArgs)).RunAsync(parse.GetValue(queue), parse.GetValue(follow), ct));
root.Subcommands.Add(results);

var cancelIds = new Argument<string[]>("id") { Arity = ArgumentArity.OneOrMore, Description = "Job ids to cancel." };
var cancel = new Command("cancel", "Cancel jobs by id (publishes cancel requests to RabbitMq:ControlExchange).") { cancelIds };
cancel.SetAction((parse, ct) => new CancelCommand(CliConfiguration.Load(configArgs)).RunAsync(parse.GetValue(cancelIds) ?? [], ct));
root.Subcommands.Add(cancel);

var chatPrompt = new Option<string>("--prompt", "-p")
{
    Description = "Prompt for the streaming step.",
    DefaultValueFactory = _ => "Explain quantum computing in simple terms.",
};
var chatProvider = new Option<string?>("--provider")
{
    Description = "Run the steps against this provider: its first configured endpoint (Llm:Endpoints), else the simulator's "
        + "route when USE_SIMULATOR=true, else its public API. Default: the default endpoint (Llm:BaseUrl).",
};
chatProvider.AcceptOnlyFromAmong(ChatCommand.Providers);
var chat = new Command("chat", "The seed example through the runtime socket: connection test, streaming, non-streaming, sequential.") { chatPrompt, chatProvider };
chat.SetAction((parse, ct) => new ChatCommand(configArgs).RunAsync(parse.GetValue(chatPrompt)!, parse.GetValue(chatProvider), ct));
root.Subcommands.Add(chat);

var parsed = root.Parse(cliArgs);
if (parsed.Errors.Count > 0)
{
    // Before anything touches the network or a socket: say what was not understood, show the usage, exit 2.
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync(error.Message);
    }

    await Console.Error.WriteLineAsync("Run with --help for usage.");
    return ExitCodes.Usage;
}

return await parsed.InvokeAsync();

static async Task<int> RunWorkerAsync(string[] hostArgs, CancellationToken cancellationToken)
{
    try
    {
        using var host = WorkerHostBuilder.Create(hostArgs).Build();

        // A background loop that fails stops the host (BackgroundServiceExceptionBehavior.StopHost) but RunAsync
        // returns normally: turn that into a non-zero exit so a supervisor restarts the worker. (Resolved before
        // running: RunAsync disposes the service provider.)
        var loops = host.Services.GetServices<IHostedService>().OfType<BackgroundService>().ToList();
        await host.RunAsync(cancellationToken);
        var failed = loops.FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true });
        if (failed is not null)
        {
            await Console.Error.WriteLineAsync($"Fatal: {failed.GetType().Name} stopped: {failed.ExecuteTask!.Exception?.GetBaseException().Message}");
            return ExitCodes.Fatal;
        }

        return ExitCodes.Ok;
    }
    catch (Microsoft.Extensions.Options.OptionsValidationException ex)
    {
        // Bad configuration stops start-up naming the key.
        await Console.Error.WriteLineAsync($"Configuration error: {string.Join("; ", ex.Failures)}");
        return ExitCodes.Configuration;
    }
}
