namespace Worker.Simulator.Json;

/// <summary>Body of <c>GET /v1/models</c> (OpenAI list shape).</summary>
internal sealed record ModelListResponse(string Object, IReadOnlyList<ModelResponse> Data);

/// <summary>One model of <c>GET /v1/models</c>, also the body of <c>GET /v1/models/{id}</c>.</summary>
internal sealed record ModelResponse(string Id, string Object, long Created, string OwnedBy);
