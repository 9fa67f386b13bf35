using System.Buffers;
using System.Text.Json;
using Worker.Simulator.Http;
using Worker.Simulator.Json;
using Worker.Simulator.Options;

namespace Worker.Simulator.Endpoints;

/// <summary><c>GET /v1/models</c> (configured models, OpenAI list shape) and <c>GET /v1/models/{id}</c> (404 for others).</summary>
internal sealed class ModelsEndpoint
{
    // Fixed creation time so the listing is byte-for-byte stable.
    private const long Created = 1_700_000_000;
    private const string OwnedBy = "simulator";

    private readonly ApiKeyCheck _apiKeys;
    private readonly byte[] _list;

    private readonly KnownModels _known;

    public ModelsEndpoint(KnownModels known, ApiKeyCheck apiKeys)
    {
        _apiKeys = apiKeys;
        _known = known;
        var models = new List<ModelResponse>();
        foreach (var id in known.Ids)
        {
            models.Add(new ModelResponse(id, "model", Created, OwnedBy));
        }

        _list = JsonSerializer.SerializeToUtf8Bytes(new ModelListResponse("list", models), SnakeCaseJsonContext.Default.ModelListResponse);
    }

    public Task ListAsync(HttpContext context)
    {
        if (Authorize(context))
        {
            context.Response.ContentType = ContentTypes.Json;
            context.Response.BodyWriter.Write(_list);
            context.Response.ContentLength = _list.Length;
        }

        return Task.CompletedTask;
    }

    public Task GetAsync(HttpContext context)
    {
        if (!Authorize(context))
        {
            return Task.CompletedTask;
        }

        var id = context.Request.RouteValues["id"] as string ?? string.Empty;
        if (!_known.Contains(id))
        {
            ErrorResponses.Write(context, ErrorCatalog.ModelNotFound(id), ErrorDialect.OpenAi);
            return Task.CompletedTask;
        }

        return context.Response.WriteAsJsonAsync(
            new ModelResponse(id, "model", Created, OwnedBy),
            SnakeCaseJsonContext.Default.ModelResponse,
            ContentTypes.Json,
            context.RequestAborted);
    }

    private bool Authorize(HttpContext context)
    {
        if (_apiKeys.Check(context.Request, ErrorDialect.OpenAi) is not { } error)
        {
            return true;
        }

        ErrorResponses.Write(context, error, ErrorDialect.OpenAi);
        return false;
    }
}
